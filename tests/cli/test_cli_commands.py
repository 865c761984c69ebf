"""``asl`` end to end: the installed script in a subprocess for the main paths, click's
CliRunner (in-process, faster) for the rest.

``--demo`` is a start-up held mid-load (see ``cli.source``): one load executing, the chain
behind it boosted to ForegroundLoad by a waiting query, startups queued, a few failures.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import COMMANDS, _clickhouse_params, cli
from cli.run import default_format


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(cli, list(args), input=input, env={"ASL_URL": None, **(env or {})},
                             catch_exceptions=False)

    return invoke


# -- the installed script -----------------------------------------------------------------

def test_sql_reads_several_statements_from_stdin(asl):
    done = asl("sql", "--demo", "-", stdin=(
        "SELECT count() > 100 FROM system.asynchronous_loader;\n"
        "-- a comment; with a semicolon\n"
        "SELECT 'a;b' AS s, 2 AS n FORMAT JSONEachRow;"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == '1\n{"s":"a;b","n":2}\n'  # TabSeparated when piped


def test_sql_query_error_is_exit_1_with_the_code_on_stderr(asl):
    done = asl("sql", "--demo", "SELECT 1; SELECT nosuch FROM system.asynchronous_loader")
    assert done.returncode == 1
    assert done.stdout == "1\n"  # statements before the error ran
    assert done.stderr.startswith("Code: 47. DB::Exception: ")
    assert "(UNKNOWN_IDENTIFIER)" in done.stderr


def test_sql_without_a_source_says_how_to_get_one(asl):
    done = asl("sql", "SELECT 1")
    assert done.returncode == 2
    for words in ("--demo", "--connect URL", "ASL_URL", "--history PATH",
                  'asl sql --demo "SELECT'):
        assert words in done.stderr


def test_demo_state_through_saved_queries(asl):
    running = asl("query", "--demo", "--seed", "3", "running", "--format", "JSONEachRow")
    assert running.returncode == 0, running.stderr
    rows = running.stdout.splitlines()
    assert len(rows) == 1 and '"execution_pool":"BackgroundLoad"' in rows[0]
    assert '"pool":"ForegroundLoad"' in rows[0]  # boosted by the waiting query
    waiters = asl("query", "--demo", "--seed", "3", "waiters")
    assert waiters.returncode == 0
    assert waiters.stdout.startswith("startup table ") and "\t1\tblocked\t" in waiters.stdout


def test_demo_runs_a_small_startup(asl):
    done = asl("demo", "--tables", "24", "--databases", "3", "--dictionaries", "3",
               "--failures", "2", "--speed", "20", "--seed", "1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Row 1:\n──────\njob:")  # the documented query, Vertical
    assert "Summary: " in out and "OK " in out and "FAILED 2" in out
    assert "pool────" in out  # the summary table
    assert 'wait_load(..., pool="ForegroundLoad")' in out
    assert "Failures (root cause" in out
    assert "progress: 100%" in done.stderr  # the bar, as lines when stderr is not a terminal


def test_param_in_clickhouse_client_spelling(asl):
    done = asl("query", "--demo", "job", "--param_job=startup ddl worker", "-f", "TSVRaw")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("startup ddl worker\t")


# -- in-process ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], *([name] for name in COMMANDS)])
def test_every_help_shows_examples(run, args):
    result = run(*args, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "asl " in result.output


def test_top_help_lists_the_commands(run):
    out = run("--help").output
    for name in COMMANDS:
        assert f"  {name} " in out


@pytest.mark.parametrize(("args", "env", "message"), [
    (["sql", "--connect", "http://localhost:8123", "SELECT 1"], None, "HTTP endpoint"),
    (["sql", "SELECT 1"], {"ASL_URL": "http://localhost:8123"}, "HTTP endpoint"),
    (["sql", "--history", "h.duckdb", "SELECT 1"], None, "h.duckdb does not exist"),
    (["query", "running"], None, "needs a source of jobs"),
    (["graph"], None, "needs a source of jobs"),
    (["sql", "--demo", ""], None, "QUERY is empty"),
    (["sql", "--demo", "SELECT 1", "--format", "Nope"], None, "PrettyCompact"),
    (["sql", "--demo", "SELECT 1", "--param", "novalue"], None, "name=value"),
    (["query", "nosuch"], None, "No saved query named 'nosuch'"),
    (["query"], None, "Missing NAME"),
    (["sql", "--demo", "--time-zone", "Mars/Olympus", "SELECT 1"], None, "time zone"),
    (["graph", "--demo", "--job", "no such job", "-f", "dot"], None, "no job named"),
    (["demo", "--tables", "3"], None, "--tables"),
])
def test_usage_errors_exit_2(run, args, env, message):
    result = run(*args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_demo_flag_wins_over_asl_url(run):
    result = run("sql", "--demo", "SELECT 1", env={"ASL_URL": "http://localhost:8123"})
    assert result.exit_code == 0 and result.output == "1\n"


def test_missing_parameter_fails_before_the_source_starts(run):
    result = run("query", "--demo", "job")
    assert result.exit_code == 1
    assert "Code: 456. DB::Exception: Substitution `job` is not set" in result.output


def test_sql_parameters_and_dialects(run):
    result = run("sql", "--demo", "SELECT {n:UInt8} + 1 AS x, {s:String} AS s",
                 "--param", "n=41", "--param", "s=it's")
    assert result.exit_code == 0 and result.output == "42\tit\\'s\n"  # TSV escapes '
    duck = run("sql", "--demo", "--dialect", "duckdb",
               "SELECT count(*) > 0 FROM system.asynchronous_loader WHERE job ILIKE 'load%'")
    assert duck.exit_code == 0 and duck.output == "true\n"  # DuckDB booleans stay booleans


def test_vertical_by_backslash_g_and_binary_formats(run):
    result = run("sql", "--demo", "SELECT 1 AS x\\G")
    assert result.output == "Row 1:\n──────\nx: 1\n"
    parquet = run("sql", "--demo", "SELECT 1 AS x", "--format", "Parquet")
    assert parquet.exit_code == 0 and parquet.stdout_bytes[:4] == b"PAR1"


def test_query_list_and_show(run):
    listed = run("query", "--list").output.splitlines()
    assert len(listed) >= 10
    assert any(line.startswith("blocked ") and "block" in line for line in listed)
    assert any("--param job=<String>" in line for line in listed)
    shown = run("query", "--show", "summary.sql").output
    assert shown.startswith("-- Jobs by pool and status") and "GROUP BY pool, status" in shown


def test_saved_query_default_format_and_override(run):
    vertical = run("query", "--demo", "job", "--param", "job=startup ddl worker")
    assert vertical.output.startswith("Row 1:\n──────\njob:")
    tsv = run("query", "--demo", "job", "--param", "job=startup ddl worker", "-f", "TSV")
    assert tsv.output.startswith("startup ddl worker\t")


def test_default_format_follows_the_terminal(monkeypatch):
    import cli.output

    assert default_format("JSON") == "JSON"
    assert default_format(None, "Vertical") == "Vertical"
    monkeypatch.setattr(cli.output, "output_is_terminal", lambda: True)
    assert default_format(None) == "PrettyCompact"
    monkeypatch.setattr(cli.output, "output_is_terminal", lambda: False)
    assert default_format(None) == "TabSeparated"


def test_clickhouse_client_param_spelling_is_rewritten():
    assert _clickhouse_params(["q", "--param_a=1", "--param_b", "x y", "--param", "c=2"]) == [
        "q", "--param", "a=1", "--param", "b=x y", "--param", "c=2"]


def test_graph_dot_to_stdout(run):
    result = run("graph", "--demo", "--status", "failed", "-f", "dot", "--no-legend")
    assert result.exit_code == 0
    assert result.output.startswith("digraph {") and "fillcolor=red" in result.output
    assert "cluster_legend" not in result.output


def test_graph_says_when_it_cuts(run):
    result = run("graph", "--demo", "--max-jobs", "50", "-f", "dot")
    assert result.exit_code == 0
    assert "drawing 50 (--max-jobs)" in result.stderr
    assert result.stdout.count('" [label=') >= 50 and "showing 50 of" in result.stdout

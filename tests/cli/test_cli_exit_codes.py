"""What the ``asl`` command promises about failing: exit codes (0 ok, 1 query error, 2 usage),
one clean line instead of a Python traceback (unwritable outputs, a full stdout, refused
extensions), and the README's and --help's commands running as written.

Each subprocess is bounded by the ``asl`` fixture's timeout.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from cli.main import cli

T = "system.asynchronous_loader"


@pytest.fixture
def run():
    """``asl ARGS`` in-process (click's CliRunner): much faster than a subprocess."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, env={"ASL_URL": None, "TZ": "UTC"})

    return invoke


def _clean_error(proc) -> bool:
    """A failure reported the way the README promises: no Python traceback."""
    return "Traceback (most recent call last)" not in proc.stderr


# ------------------------------------------------------------------------- clean errors --


def test_graph_to_an_unwritable_path_is_a_clean_error(asl, tmp_path):
    target = tmp_path / "missing" / "x.dot"
    proc = asl("graph", "--demo", "-f", "dot", "-o", str(target))
    assert proc.returncode in (1, 2)
    assert _clean_error(proc), proc.stderr[-400:]


def test_graph_refuses_an_output_extension_it_cannot_write(run, tmp_path):
    target = tmp_path / "startup.gif"
    done = run("graph", "--demo", "--collapse", "-o", str(target))
    assert done.exit_code == 2
    assert not target.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_sql_write_error_is_a_clean_error(tmp_path, asl_argv):
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "ASL_URL"}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*asl_argv, "sql", "--demo", "SELECT 1"], stdout=full,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              timeout=60, env={**env, "TZ": "UTC"})
    assert proc.returncode == 1
    assert _clean_error(proc), proc.stderr[-400:]


def test_no_source_hint_offers_only_what_exists(asl):
    import sqlbridge

    proc = asl("sql", "SELECT 1")
    assert proc.returncode == 2
    if not hasattr(sqlbridge, "record_history"):
        assert "record_history" not in proc.stderr
    assert "--history PATH" in proc.stderr  # the history source exists: it is offered
    assert "not available" not in proc.stderr


def test_graph_depth_without_job_is_a_usage_error(run):
    done = run("graph", "--demo", "--depth", "2", "-f", "dot")
    assert done.exit_code == 2
    assert "--job" in done.stderr


# ---------------------------------------------------------------- commands and exit codes --


@pytest.mark.parametrize("args", [
    ("sql", "--demo", f"SELECT status, count() FROM {T} GROUP BY status"),
    ("query", "--demo", "failures", "--format", "Vertical"),
    ("query", "--show", "ready_queue"),
    ("query", "--demo", "--list"),
])
def test_readme_and_help_commands_run_as_written(run, args):
    done = run(*args)
    assert done.exit_code == 0, done.output
    assert done.stdout


def test_query_list_names_what_the_readme_promises(run):
    done = run("query", "--list")
    assert done.exit_code == 0
    names = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert {"running", "blocked", "ready_queue", "failures", "failure_impact", "slowest",
            "wait_time", "summary", "boosts", "progress", "databases", "waiters",
            "job"} <= names


def test_a_failing_statement_stops_the_script_with_exit_1(run):
    done = run("sql", "--demo", "-", input="SELECT 1; SELEC 2; SELECT 3")
    assert done.exit_code == 1
    assert done.stdout == "1\n"
    assert done.stderr.startswith("Code: 62. DB::Exception: Syntax error")
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_a_sandbox_refusal_exits_1_with_code_164(run):
    done = run("sql", "--demo", "SELECT * FROM file('/etc/passwd')")
    assert done.exit_code == 1
    assert done.stderr.startswith("Code: 164."), done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("args", [
    ("sql", "SELECT 1"),
    ("sql", "--demo"),
    ("sql", "--demo", "--dialect", "pg", "SELECT 1"),
    ("sql", "--connect", "http://127.0.0.1:1", "SELECT 1"),
    ("query", "--demo", "nope"),
    ("graph",),
])
def test_usage_errors_exit_2_without_traceback(asl, args):
    proc = asl(*args)
    assert proc.returncode == 2
    assert "Error:" in proc.stderr
    assert _clean_error(proc)

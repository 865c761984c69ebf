"""The notebook magics in a real in-process IPython shell: ``%load_ext sqlbridge``, then
``%asl``/``%%asl`` cells as a user types them (``shell.run_cell``), their output captured as a
notebook front end would receive it (printed text, ``display()`` outputs, the cell's value).

Local cells query ``FakeLoader`` (fixed rows) and are compared with a ``sqlbridge`` session
over the same rows, which the other SQL tests check against ClickHouse. Remote cells query an
in-process ``sqlbridge.serve`` on a free loopback port; its sockets have time-outs.

IPython is imported by the ``shell`` fixture, not at collection, and what it changes for the
whole process is put back after this module: importing it (jedi, for completion) raises the
recursion limit from 1000 to 3000, which would change what other tests see (sqlglot then parses
a 2000-term sum that the translator must report as too deep).
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import re
import socket
import subprocess
import sys
import textwrap
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.notebook import QueryFailed, Result, cells
from sqlbridge.testing import FakeLoader

if importlib.util.find_spec("IPython") is None:
    pytest.skip("the notebook magics need IPython (pip install -e '.[dev]')",
                allow_module_level=True)

T = "system.asynchronous_loader"
JOBS = f"SELECT job, status, ready_seqno, start_time FROM {T} ORDER BY job_id"


@pytest.fixture(scope="module")
def shell():
    """One IPython shell for the module; the global state it changes is put back after."""
    main, hooks = sys.modules.get("__main__"), (sys.displayhook, sys.excepthook)
    names, limit = set(vars(builtins)), sys.getrecursionlimit()
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    ip = InteractiveShell.instance(config=config)
    try:
        yield ip
    finally:
        InteractiveShell.clear_instance()
        sys.modules["__main__"] = main
        sys.displayhook, sys.excepthook = hooks
        sys.setrecursionlimit(limit)
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)


@pytest.fixture
def ip(shell):
    """The shell with the extension freshly loaded, a ``fake`` loader, and nothing else new."""
    before = set(shell.user_ns)
    shell.run_line_magic("load_ext", "sqlbridge")
    shell.user_ns["fake"] = FakeLoader()
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "sqlbridge")
        for name in set(shell.user_ns) - before:
            del shell.user_ns[name]


@pytest.fixture(scope="module")
def db():
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as session:
        yield session


class Cell:
    """What running one cell showed: printed text, displayed objects, value and error."""

    def __init__(self, ip: Any, source: str) -> None:
        from IPython.utils.capture import capture_output

        with capture_output() as cap:
            run = ip.run_cell(source)
        # what the cell printed, without the displayhook's "Out[n]: <value>" after it
        self.stdout = re.split(r"^Out\[\d+\]: ", cap.stdout, flags=re.M)[0]
        self.stderr = cap.stderr
        self.displayed = cap.outputs
        self.value = run.result
        self.error = run.error_in_exec


def cell(ip: Any, source: str) -> Cell:
    return Cell(ip, textwrap.dedent(source).strip("\n"))


def usage_error(error: BaseException | None) -> bool:
    """Whether ``error`` is IPython's UsageError: a one-line message, no traceback."""
    from IPython.core.error import UsageError

    return isinstance(error, UsageError)


def magics(ip: Any):
    return ip.magics_manager.registry["AslMagics"]


@pytest.fixture
def loaders():
    """Two real loaders (one finished job each), shut down after the test."""
    made = []
    for name in ("a", "b"):
        loader = AsyncLoader([Pool("BackgroundLoad", 1)])
        job = LoadJob(lambda loader, job: None, name=f"load table db.{name}")
        loader.schedule(job)
        loader.wait(job, timeout=10)
        made.append(loader)
    yield made
    for loader in made:
        loader.shutdown()


# ---------------------------------------------------------------------------- extension --


def test_import_sqlbridge_needs_no_ipython():
    code = ("import sys, sqlbridge, sqlbridge.notebook; "
            "assert callable(sqlbridge.load_ipython_extension); "
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('IPython', 'duckdb', 'pyarrow', 'sqlglot', 'loader')]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_load_ext_registers_the_magics_and_unload_removes_them(shell):
    shell.run_line_magic("load_ext", "sqlbridge")
    try:
        assert shell.find_line_magic("asl") is not None
        assert shell.find_cell_magic("asl") is not None
        assert shell.find_line_magic("asl_connect") is not None
        shell.user_ns["fake"] = FakeLoader()
        session = None
        assert cell(shell, "%asl -l fake SELECT 1").error is None
        session = magics(shell).connections.sessions.sessions()[0]
    finally:
        shell.run_line_magic("unload_ext", "sqlbridge")
        shell.user_ns.pop("fake", None)
    assert shell.find_line_magic("asl") is None and shell.find_cell_magic("asl") is None
    assert shell.find_line_magic("asl_connect") is None
    assert session is not None and session._closed  # unloading closed the DuckDB session


def test_help_lists_the_options(ip):
    doc = ip.find_line_magic("asl").__doc__
    for option in ("--loader", "--connect", "--format", "--time-zone", "--dialect", "--param",
                   "--output"):
        assert option in doc
    assert "Default: the one set with %asl_connect, else the only" in " ".join(doc.split())


# ---------------------------------------------------------------------- loader choice --


def test_no_loader_is_a_one_line_usage_error(ip):
    out = cell(ip, f"%asl SELECT count() FROM {T}")
    assert usage_error(out.error)
    assert "No loader to query" in str(out.error) and "--loader NAME" in str(out.error)
    assert "Traceback" not in out.stdout + out.stderr


def test_the_only_async_loader_is_the_default(ip, loaders):
    ip.user_ns["loader"] = loaders[0]
    ip.user_ns["same"] = loaders[0]      # the same object under two names is one loader
    ip.user_ns["_"] = loaders[1]         # IPython's output history does not count
    out = cell(ip, f"%asl SELECT job FROM {T}")
    assert out.error is None
    assert out.value.arrow.column("job").to_pylist() == ["load table db.a"]


def test_two_loaders_are_ambiguous(ip, loaders):
    ip.user_ns["first"], ip.user_ns["second"] = loaders
    out = cell(ip, f"%asl SELECT job FROM {T}")
    assert usage_error(out.error)
    assert "Several loaders in the namespace (first, second)" in str(out.error)
    out = cell(ip, f"%asl --loader second SELECT job FROM {T}")
    assert out.value.arrow.column("job").to_pylist() == ["load table db.b"]


def test_loader_option_takes_a_name_or_a_dotted_path(ip):
    ip.run_cell("class Holder:\n    pass\napp = Holder()\napp.loader = fake\nnumber = 3")
    out = cell(ip, f"%asl --loader app.loader SELECT count() AS n FROM {T}")
    assert out.value.arrow.column("n").to_pylist() == [7]
    for option, message in (("nothing", "No variable 'nothing' in the notebook"),
                            ("app.missing", "app has no attribute 'missing'"),
                            ("number", "number is not a loader: it holds a 'int' object"),
                            ("'a b'", "--loader takes a variable name")):
        out = cell(ip, f"%asl --loader {option} SELECT 1")
        assert usage_error(out.error) and message in str(out.error), option


def test_asl_connect_sets_the_default_by_name(ip, loaders):
    ip.user_ns["first"], ip.user_ns["second"] = loaders
    out = cell(ip, "%asl_connect second")
    assert out.stdout == "%%asl cells query the loader second\n"
    assert cell(ip, f"%asl SELECT job FROM {T}").value.arrow.column("job").to_pylist() == \
        ["load table db.b"]
    # the name is followed: re-running the cell that builds the loader needs no new connect
    ip.user_ns["second"] = ip.user_ns["fake"]
    assert len(cell(ip, f"%asl SELECT job FROM {T}").value) == 7
    # --loader still wins for one cell
    assert cell(ip, f"%asl -l first SELECT job FROM {T}").value.arrow.column("job") \
        .to_pylist() == ["load table db.a"]
    assert cell(ip, "%asl_connect").stdout == "%%asl cells query the loader second\n"
    out = cell(ip, "%asl_connect typo")
    assert usage_error(out.error) and "No variable 'typo'" in str(out.error)
    out = cell(ip, "%asl_connect 'two words'")
    assert usage_error(out.error)
    assert str(out.error).startswith("%asl_connect takes a variable name")
    del ip.user_ns["second"]
    out = cell(ip, "%asl SELECT 1")
    assert usage_error(out.error) and "No variable 'second'" in str(out.error)


def test_asl_connect_without_arguments_says_what_cells_query(ip, loaders):
    assert "no default loader yet: No loader to query" in cell(ip, "%asl_connect").stdout
    ip.user_ns["mine"] = loaders[0]
    assert cell(ip, "%asl_connect").stdout == \
        "%%asl cells query mine, the only loader.AsyncLoader in the namespace\n"


def test_one_session_per_loader_reused_across_cells(ip):
    fake = ip.user_ns["fake"]
    for _ in range(3):
        assert cell(ip, f"%asl -l fake SELECT count() FROM {T}").error is None
    sessions = magics(ip).connections.sessions
    assert len(sessions.sessions()) == 1
    assert fake.snapshot_calls == 3  # one snapshot per statement, one DuckDB session
    cell(ip, f"%asl -l fake -t UTC SELECT count() FROM {T}")
    # the zone is fixed per DuckDB database: a session of its own
    assert len(sessions.sessions()) == 2


def test_sessions_are_bounded(ip, monkeypatch):
    monkeypatch.setattr(magics(ip).connections.sessions, "max_sessions", 2)
    for i in range(3):
        ip.user_ns[f"f{i}"] = FakeLoader()
        cell(ip, f"%asl -l f{i} SELECT 1")
    sessions = magics(ip).connections.sessions.sessions()
    assert [db.loader for db in sessions] == [ip.user_ns["f1"], ip.user_ns["f2"]]


# --------------------------------------------------------------------------- display --


def test_a_cell_value_is_a_result_shown_as_prettycompact_text(ip, db):
    out = cell(ip, f"""
        %%asl --loader fake --time-zone UTC
        {JOBS}
        """)
    result = out.value
    assert isinstance(result, Result) and out.error is None
    expected = db.run(JOBS, format="PrettyCompact")
    assert result.text == expected
    assert repr(result) == expected.rstrip("\n")
    assert result.arrow.equals(db.query(JOBS))
    assert result.column_names == ["job", "status", "ready_seqno", "start_time"]
    assert len(result) == 7
    formats = ip.display_formatter.format(result)[0]
    assert formats["text/plain"] == expected.rstrip("\n")
    assert formats["text/html"].startswith('<table class="asl-result">')


def test_html_table(ip):
    result = cell(ip, f"""
        %%asl -l fake -t UTC
        SELECT job, ready_seqno, start_time, dependencies, '<b>&' AS markup
        FROM {T} ORDER BY job_id LIMIT 3
        """).value
    page = result._repr_html_()
    assert '<th title="Nullable(UInt64)" style="text-align: right">ready_seqno</th>' in page
    assert "<th>3.</th>" in page and "<th>4.</th>" not in page
    assert page.count(">ᴺᵁᴸᴸ<") == 4  # as Pretty shows NULL: three ready_seqno, one start_time
    assert ">2026-11-22 06:53:58.123456<" in page  # in the session's zone
    assert ">[2]<" in page and "&lt;b&gt;&amp;" in page and "<b>&" not in page
    assert "Showed" not in page


def test_html_truncates_long_results_like_pretty(ip):
    result = cell(ip, "%asl -l fake SELECT number FROM numbers(2500)").value
    page = result._repr_html_()
    assert "<th>500.</th>" in page and "<th>501.</th>" not in page
    assert "<th>2001.</th>" in page and "<th>2000.</th>" not in page and "<th>2500.</th>" in page
    assert len(re.findall(r"<tr><th>\d+\.</th>", page)) == 1000 and "⋮" in page
    assert page.endswith("<p>Showed 1000 out of 2500 rows.</p>")
    assert result.text.endswith("Showed 1000 out of 2500 rows.\n")


def test_empty_result(ip):
    result = cell(ip, f"%asl -l fake SELECT job FROM {T} WHERE job_id > 100").value
    assert result.text == "" and repr(result) == "0 rows in set."
    page = result._repr_html_()
    assert ">job</th>" in page and page.endswith("<p>0 rows in set.</p>")


def test_to_pandas(ip):
    pd = pytest.importorskip("pandas")
    frame = cell(ip, f"%asl -l fake SELECT job_id, status FROM {T} ORDER BY job_id").value \
        .to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["job_id"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(frame["status"])[:2] == ["OK", "FAILED"]


# ----------------------------------------------------------------------------- options --


def test_format_prints_clickhouse_text(ip, db):
    sql = f"SELECT job_id, job, exception FROM {T} ORDER BY job_id LIMIT 3"
    for fmt in ("Vertical", "JSONEachRow", "TSVWithNamesAndTypes", "PrettyCompact"):
        out = cell(ip, f"%%asl -l fake -t UTC --format {fmt}\n{sql}")
        assert out.stdout == db.run(sql, format=fmt), fmt
        assert out.value is None and not out.displayed


def test_a_format_clause_prints_that_statement(ip, db):
    out = cell(ip, f"""
        %%asl -l fake -t UTC
        SELECT job, elapsed FROM {T} WHERE job_id = 1 FORMAT Vertical;
        SELECT job FROM {T} WHERE job_id = 2\\G
        SELECT count() AS n FROM {T}
        """)
    assert out.stdout == (db.run(f"SELECT job, elapsed FROM {T} WHERE job_id = 1 FORMAT Vertical")
                          + db.run(f"SELECT job FROM {T} WHERE job_id = 2\\G"))
    assert out.value.arrow.column("n").to_pylist() == [7]


def test_binary_format_notes_the_size_and_output_keeps_the_bytes(ip):
    out = cell(ip, f"%asl -l fake --format Parquet -o blob SELECT job_id FROM {T}")
    blob = ip.user_ns["blob"]
    assert isinstance(blob, bytes)
    assert out.stdout == f"(Parquet output: {len(blob)} bytes; in blob)\n"
    assert pq.read_table(io.BytesIO(blob)).column("job_id").to_pylist() == list(range(1, 8))
    out = cell(ip, "%asl -l fake SELECT 1 AS x FORMAT Arrow")
    assert re.fullmatch(r"\(Arrow output: \d+ bytes; keep them with -o VAR\)\n", out.stdout)


def test_binary_output_of_an_earlier_statement_is_not_said_to_be_stored(ip):
    out = cell(ip, """
        %%asl -l fake -o last
        SELECT 1 AS x FORMAT Parquet;
        SELECT 2 AS y FORMAT Parquet
        """)
    first, second = out.stdout.splitlines()
    assert first.endswith("bytes; keep them with -o VAR)")
    assert second == f"(Parquet output: {len(ip.user_ns['last'])} bytes; in last)"


def test_unknown_format_is_a_usage_error(ip):
    out = cell(ip, "%asl -l fake --format Jason SELECT 1")
    assert usage_error(out.error)
    assert str(out.error).startswith("--format: Unknown format Jason. Maybe you meant: ['JSON',")


def test_time_zone(ip):
    sql = f"SELECT start_time, toHour(start_time) AS h FROM {T} WHERE job_id = 1"
    with sqlbridge.connect(FakeLoader(), time_zone="Asia/Kolkata") as kolkata:
        expected = kolkata.run(sql, format="PrettyCompact")
    result = cell(ip, f"%asl -l fake --time-zone Asia/Kolkata {sql}").value
    assert result.text == expected and "12:23:58.123456" in expected
    assert result.time_zone == "Asia/Kolkata"
    out = cell(ip, "%asl -l fake --time-zone Mars/Olympus SELECT 1")
    assert usage_error(out.error)
    assert "Invalid time zone: Mars/Olympus (use an IANA name" in str(out.error)


def test_dialect(ip):
    sql = f"SELECT count(*) AS n FROM (SELECT * FROM {T} USING SAMPLE 3)"
    assert cell(ip, f"%asl -l fake --dialect duckdb {sql}").value.arrow.column("n") \
        .to_pylist() == [3]
    out = cell(ip, f"%asl -l fake {sql}")
    assert isinstance(out.error, QueryFailed) and out.stdout.startswith("Code: 141.")
    out = cell(ip, "%asl -l fake --dialect postgres SELECT 1")
    assert usage_error(out.error) and "invalid choice: 'postgres'" in str(out.error)


def test_params_and_variable_expansion(ip):
    ip.user_ns["pattern"] = "load db.%"
    ip.user_ns["limit"] = 2
    out = cell(ip, f"""
        %%asl -l fake --param p={{pattern}} -p n=$limit -p 'quote=it'"'"'s here'
        SELECT job, {{quote:String}} AS q FROM {T}
        WHERE job LIKE {{p:String}} ORDER BY job_id LIMIT {{n:UInt8}}
        """)
    assert out.error is None, out.stdout
    assert out.value.arrow.to_pylist() == [{"job": "load db.a", "q": "it's here"},
                                           {"job": "load db.b", "q": "it's here"}]


def test_sql_of_a_line_magic_is_never_expanded(ip):
    # A Python variable named like a placeholder, and $ and {...} in the SQL: IPython would
    # replace $limit and {limit} in the line; the SQL must reach the session as typed.
    ip.user_ns["limit"] = 5
    out = cell(ip, "%asl -l fake -p limit=1 SELECT {limit:UInt8} AS l, '$limit {limit}' AS s, "
                   "map('k', 2) AS m")
    assert out.value.arrow.to_pylist() == [{"l": 1, "s": "$limit {limit}", "m": [("k", 2)]}]
    out = cell(ip, "%asl -l fake SELECT {limit:UInt8}")
    assert isinstance(out.error, QueryFailed)
    assert out.stdout.startswith("Code: 456. DB::Exception: Substitution `limit` is not set")


def test_bad_param_is_a_usage_error(ip):
    out = cell(ip, "%asl -l fake --param nonsense SELECT 1")
    assert usage_error(out.error)
    assert "--param: Query parameter must be given as name=value" in str(out.error)


def test_output_variable(ip, db):
    sql = f"SELECT job FROM {T} ORDER BY job_id"
    out = cell(ip, f"%%asl -l fake -o jobs\n{sql}")
    assert ip.user_ns["jobs"] is out.value
    assert ip.user_ns["jobs"].arrow.column("job").to_pylist() == \
        db.query(sql).column("job").to_pylist()
    cell(ip, f"%asl -l fake -t UTC -f TSV --output text {sql}")
    assert ip.user_ns["text"] == db.run(sql, format="TSV")
    out = cell(ip, "%asl -l fake -o 'not a name' SELECT 1")
    assert usage_error(out.error) and "-o/--output takes a Python variable name" \
        in str(out.error)
    out = cell(ip, "%asl -l fake -o class SELECT 1")
    assert usage_error(out.error)


def test_unknown_option_and_missing_sql(ip):
    out = cell(ip, "%asl -l fake --colour SELECT 1")
    assert usage_error(out.error) and "unrecognized arguments: --colour" in \
        str(out.error)
    for source in ("%asl -l fake", "%%asl -l fake\n-- just a comment\n"):
        out = cell(ip, source)
        assert usage_error(out.error) and "No SQL statement given" in str(out.error)


def test_split_line():
    assert cells.split_line("-l fake -f JSON SELECT 1 AS x") == ("-l fake -f JSON",
                                                                 "SELECT 1 AS x")
    assert cells.split_line("--format=JSON -p 's=a b' -o r SELECT 's=-1'") == \
        ("--format=JSON -p 's=a b' -o r", "SELECT 's=-1'")
    assert cells.split_line("-fJSON -- -1") == ("-fJSON", "-1")
    assert cells.split_line("SELECT -1") == ("", "SELECT -1")


# ---------------------------------------------------------------- statements and errors --


def test_several_statements_each_shown_the_last_is_the_value(ip):
    out = cell(ip, """
        %%asl -l fake -o last
        SELECT 1 AS first;
        SELECT 'two' AS second; -- a comment
        SELECT 3 AS third;
        """)
    shown = [d.data["text/plain"] for d in out.displayed]
    assert shown == [repr(Result(pa.table({"first": pa.array([1], pa.int32())}))),
                     repr(Result(pa.table({"second": ["two"]})))]
    assert all("text/html" in d.data for d in out.displayed)
    assert out.value.column_names == ["third"] and ip.user_ns["last"] is out.value


def test_query_error_shows_clickhouse_text_without_traceback_then_the_session_works(ip):
    fake = ip.user_ns["fake"]
    out = cell(ip, f"%%asl -l fake\nSELECT nope FROM {T}")
    assert isinstance(out.error, QueryFailed) and out.error.code == 47
    assert out.stdout.startswith("Code: 47. DB::Exception: ")
    assert "(UNKNOWN_IDENTIFIER)" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr and "sqlbridge/notebook" not in out.stdout
    session = magics(ip).connections.sessions.sessions()[0]
    out = cell(ip, f"%asl -l fake SELECT count() AS n FROM {T}")
    assert out.value.arrow.column("n").to_pylist() == [7]
    assert magics(ip).connections.sessions.sessions()[0] is session
    assert fake.snapshot_calls >= 1


def test_an_error_stops_the_cell_after_showing_what_ran(ip):
    fake = ip.user_ns["fake"]
    out = cell(ip, f"""
        %%asl -l fake -o kept
        SELECT count() AS n FROM {T};
        SELECT * FROM system.nothing;
        SELECT count() AS again FROM {T};
        """)
    assert [d.data["text/plain"] for d in out.displayed] == [
        "   ┌─n─┐\n1. │ 7 │\n   └───┘"]
    assert out.stdout.startswith("Code: 60. DB::Exception: ") and "UNKNOWN_TABLE" in out.stdout
    assert fake.snapshot_calls == 1  # the third statement did not run
    assert "kept" not in ip.user_ns


def test_syntax_error_in_the_script_itself(ip):
    out = cell(ip, "%%asl -l fake\nSELECT 1; SELECT 'unterminated")
    assert isinstance(out.error, QueryFailed) and out.stdout.startswith("Code: 62.")


# ----------------------------------------------------------------------------- history --


def test_cells_see_the_job_history_of_a_loader_that_records_flushed_or_not(ip, tmp_path):
    import logging

    def work(loader, job):
        logging.getLogger("app").warning("loading %s", job.name)

    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    ip.user_ns["recording"] = loader
    log = ("SELECT type, count() AS n FROM system.asynchronous_loader_log "
           "GROUP BY type ORDER BY type")
    try:
        # The cell's session exists before the recording does, as when a notebook starts
        # recording after its first query.
        assert cell(ip, f"%asl -l recording {log}").value.arrow.to_pylist() == []
        rec = sqlbridge.record_history(loader, tmp_path / "h", flush_interval=3600)
        try:
            loader.schedule([LoadJob(work, name=f"load table db.t{i}") for i in range(3)])
            loader.wait_all(timeout=30)
            # Nothing is flushed yet (an hour's interval): the cell reads the recorder's buffer.
            assert not list((tmp_path / "h" / "log").glob("*.parquet"))
            out = cell(ip, f"%%asl -l recording\n{log}")
            assert out.error is None, out.stdout
            assert out.value.arrow.to_pylist() == [{"type": "JobStart", "n": 3},
                                                  {"type": "JobFinish", "n": 3}]
            out = cell(ip, "%%asl -l recording\nSELECT job, message FROM "
                           "system.asynchronous_loader_text_log ORDER BY job")
            assert out.value.arrow.to_pylist()[0] == {
                "job": "load table db.t0", "message": "loading load table db.t0"}
            assert len(out.value) == 3
        finally:
            rec.close()
        out = cell(ip, "%asl -l recording SELECT end_reason, is_alive "
                       "FROM system.asynchronous_loader_processes")
        assert out.value.arrow.to_pylist() == [{"end_reason": "closed", "is_alive": 0}]
        assert cell(ip, f"%asl -l recording {log}").value.arrow.column("n").to_pylist() == [3, 3]
    finally:
        loader.shutdown()


# ---------------------------------------------------------------------------- --connect --


@pytest.fixture(scope="module")
def server():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone="UTC") as s:
        yield s


def test_connect_shows_the_servers_result_as_a_table(ip, server, db):
    ip.user_ns["url"] = server.url
    out = cell(ip, f"%%asl --connect $url -o remote\n{JOBS}")
    assert out.error is None, out.stdout
    assert out.value.text == db.run(JOBS, format="PrettyCompact")  # times in the server's zone
    assert out.value.arrow.column("ready_seqno").to_pylist() == \
        db.query(JOBS).column("ready_seqno").to_pylist()
    assert ip.user_ns["remote"] is out.value


def test_connect_format_params_and_statements(ip, server, db):
    sql = f"SELECT job_id, job FROM {T} WHERE job LIKE {{p:String}} ORDER BY job_id"
    out = cell(ip, f"%%asl -c {server.url} -p 'p=startup %' --format JSONCompact\n{sql}")
    assert out.stdout.split('"statistics"')[0] == db.run(
        sql.replace("{p:String}", "'startup %'"), format="JSONCompact").split('"statistics"')[0]
    out = cell(ip, f"""
        %%asl -c {server.url}
        SELECT 1 AS a FORMAT TSV;
        SELECT 2 AS b;
        SELECT 3 AS c
        """)
    assert out.stdout == "1\n"
    assert [d.data["text/plain"] for d in out.displayed] == ["   ┌─b─┐\n1. │ 2 │\n   └───┘"]
    assert out.value.column_names == ["c"]


def test_connect_errors(ip, server):
    out = cell(ip, f"%asl -c {server.url} SELECT nope FROM {T}")
    assert isinstance(out.error, QueryFailed) and out.error.code == 47
    assert out.stdout.startswith("Code: 47. DB::Exception: ")
    assert cell(ip, f"%asl -c {server.url} SELECT 1").value.column_names == ["1"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = cell(ip, f"%asl -c http://127.0.0.1:{port} SELECT 1")
    assert isinstance(out.error, QueryFailed)
    assert out.stdout.startswith("Error: Code: 210. DB::NetException: Connection refused")
    assert "ASL_URL" not in out.stdout
    out = cell(ip, "%asl -c ftp://example.com SELECT 1")
    assert usage_error(out.error) and str(out.error).startswith("--connect: ")
    out = cell(ip, f"%asl -c {server.url} -l fake SELECT 1")
    assert usage_error(out.error) and "exclude each other" in str(out.error)


def test_asl_connect_to_a_server(ip, server):
    out = cell(ip, f"%asl_connect --connect {server.url}")
    assert out.stdout == f"%%asl cells query {server.url}\n"
    assert cell(ip, f"%asl SELECT count() AS n FROM {T}").value.arrow.column("n") \
        .to_pylist() == [7]
    ip.user_ns["fake"].jobs = ip.user_ns["fake"].jobs.slice(0, 2)
    assert cell(ip, f"%asl -l fake SELECT count() AS n FROM {T}").value.arrow.column("n") \
        .to_pylist() == [2]  # --loader still picks a local one for one cell

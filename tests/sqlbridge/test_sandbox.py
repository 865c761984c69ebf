"""Every way to change the database, touch files or change settings is refused, and the
session keeps answering afterwards."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import sqlbridge
from sqlbridge.errors import QueryError, Readonly, SyntaxError_
from sqlbridge.testing import FakeLoader

GOOD = "SELECT count() AS n FROM system.asynchronous_loader"
T = "system.asynchronous_loader"

REFUSED_CLICKHOUSE = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM file('/etc/passwd', 'CSV')",
    "SELECT * FROM url('http://example.com/x.csv', CSV)",
    "COPY (SELECT 1) TO '/tmp/asl-sandbox-test.csv'",
    "ATTACH ':memory:' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET max_threads = 1",
    "SET enable_external_access = true",
    "PRAGMA version",
    "CREATE TABLE t (a UInt8) ENGINE = Memory",
    "CREATE VIEW v AS SELECT 1",
    "INSERT INTO t VALUES (1)",
    "DROP TABLE system.asynchronous_loader",
    "ALTER TABLE t ADD COLUMN b UInt8",
    "TRUNCATE TABLE t",
    "SYSTEM RELOAD DICTIONARIES",
    "OPTIMIZE TABLE t FINAL",
    "KILL QUERY WHERE 1",
    "SELECT * FROM system.asynchronous_loader INTO OUTFILE '/tmp/asl-sandbox-test.csv'",
    "SELECT * INTO t2 FROM system.asynchronous_loader",
    "RENAME TABLE a TO b",
    "GRANT SELECT ON *.* TO u",
]

REFUSED_DUCKDB = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT content FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "FROM read_json_auto('/tmp/x.json')",
    "SELECT * FROM glob('/etc/*')",
    "COPY (SELECT 1) TO '/tmp/asl-sandbox-test.csv'",
    "EXPORT DATABASE '/tmp/asl-sandbox-export'",
    "ATTACH ':memory:' AS other",
    "DETACH memory",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "RESET threads",
    "SET GLOBAL enable_external_access = true",
    "USE system",
    "PRAGMA database_list",
    "CALL checkpoint()",
    "CHECKPOINT",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE MACRO m(x) AS x",
    "CREATE TYPE t AS ENUM ('a')",
    "CREATE SECRET (TYPE s3)",
    "INSERT INTO asl_system.tables VALUES ('x', 'y', 'z', 'w')",
    "DELETE FROM asl_system.tables",
    "UPDATE asl_system.tables SET name = 'x'",
    "DROP VIEW asl_system.asynchronous_loader",
    "ALTER VIEW asl_system.asynchronous_loader RENAME TO x",
    "COMMENT ON VIEW asl_system.asynchronous_loader IS 'x'",
    "BEGIN TRANSACTION",
    "PREPARE p AS SELECT 1",
    "EXPLAIN ANALYZE DELETE FROM asl_system.tables",
    "PIVOT asl_system.asynchronous_loader ON status USING count(*)",
    "VACUUM",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('asl_system.tables')",
    "SELECT nextval('s')",
    "SELECT getenv('HOME')",
    "UPDATE EXTENSIONS",
    "WITH t AS (DELETE FROM asl_system.tables RETURNING *) SELECT * FROM t",
    "WITH t AS (INSERT INTO asl_system.tables VALUES ('a', 'b', 'c', 'd') RETURNING *) "
    "SELECT * FROM t",
    "WITH t AS (UPDATE asl_system.tables SET name = 'x' RETURNING *) SELECT count(*) FROM t",
    "SET VARIABLE x = 1",
    "COPY FROM DATABASE memory TO other",
    "FORCE INSTALL httpfs",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM parquet_metadata('/tmp/x.parquet')",
    "CREATE OR REPLACE MACRO m(x) AS x",
    "DROP SCHEMA asl_system CASCADE",
]


def _refused(db, sql):
    with pytest.raises(QueryError) as info:
        db.query(sql)
    e = info.value
    assert isinstance(e, Readonly | SyntaxError_) or e.code in (46, 60), (sql, str(e))
    assert str(e).startswith(f"Code: {e.code}. DB::Exception: ")
    # ... and the session is still usable.
    assert db.query(GOOD).column("n").to_pylist() == [7]
    return e


@pytest.mark.parametrize("sql", REFUSED_CLICKHOUSE)
def test_clickhouse_dialect_refuses(db, sql):
    e = _refused(db, sql)
    assert isinstance(e, Readonly), str(e)
    assert "readonly" in str(e).lower()


@pytest.mark.parametrize("sql", REFUSED_DUCKDB)
def test_duckdb_dialect_refuses(duck, sql):
    e = _refused(duck, sql)
    if not sql.startswith(("SELECT getenv", "SELECT nextval")):
        assert isinstance(e, Readonly), str(e)


def test_readonly_message_tells_what_to_do(db):
    with pytest.raises(Readonly) as info:
        db.query("INSERT INTO t VALUES (1)")
    text = str(info.value)
    assert text.startswith("Code: 164. DB::Exception: Cannot execute INSERT in readonly mode")
    assert "SELECT" in text and text.endswith("(READONLY)")


def test_read_csv_message_names_the_function(duck):
    with pytest.raises(Readonly) as info:
        duck.query("SELECT * FROM read_csv('/etc/passwd')")
    assert "read_csv()" in str(info.value)


def test_writes_hidden_in_several_statements_are_refused(db):
    with pytest.raises(SyntaxError_, match="Multi-statements are not allowed"):
        db.query("SELECT 1; DROP TABLE x")
    # The script form runs statement by statement and refuses the second one.
    statements = db.statements("SELECT 1; CREATE TABLE x (a int); SELECT 2")
    assert len(statements) == 3
    with pytest.raises(Readonly):
        db.query(statements[1])


def test_duckdb_connection_itself_is_locked(db):
    con = db.duckdb
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET threads = 1")
    with pytest.raises(duckdb.Error):
        con.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()


def test_setting_values_after_setup(db):
    # Read through the session, i.e. on its own cursor: every setting must have reached it.
    t = db.query("SELECT name, value FROM duckdb_settings() WHERE name IN "
                 "('enable_external_access', 'lock_configuration', 'TimeZone', "
                 "'python_enable_replacements', 'autoload_known_extensions', 'temp_directory') "
                 "ORDER BY name")
    assert dict(zip(t.column("name").to_pylist(), t.column("value").to_pylist(), strict=True)) \
        == {"TimeZone": "UTC", "enable_external_access": "false",
            "lock_configuration": "true", "python_enable_replacements": "false",
            "autoload_known_extensions": "false", "temp_directory": ""}


def test_python_variables_are_not_tables(duck):
    t = pa.table({"x": [42]})  # noqa: F841 - what a replacement scan would find
    with pytest.raises(QueryError):
        duck.query("SELECT * FROM t")


def test_nothing_was_written(db, duck):
    import os

    from sqlbridge import catalog

    for session in (db, duck):
        t = session.query("SELECT count(*) AS n FROM system.tables")
        assert t.column("n").to_pylist() == [len(catalog.SYSTEM_TABLES)]  # none created
        assert session.query("SELECT count() AS n FROM system.asynchronous_loader") is not None

    assert not os.path.exists("/tmp/asl-sandbox-test.csv")
    assert not os.path.exists("/tmp/asl-sandbox-export")


@pytest.mark.parametrize("sql", [
    "SELECT 1 INTO OUTFILE '/tmp/asl_review_out.txt'",
    "SELECT * FROM file('/etc/passwd', LineAsString)",
    "SELECT * FROM url('http://127.0.0.1:1/x', CSV)",
    "SELECT * FROM s3('s3://bucket/key')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM executable('id', TSV, 'x String')",
    "SELECT * FROM '/etc/hosts.csv'",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * INTO copied FROM system.asynchronous_loader",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM query_table('x')",
    "SELECT currval('s')",
])
def test_sandbox_refuses_files_urls_and_writes_then_stays_usable(db, sql):
    with pytest.raises(Readonly):
        db.run(sql)
    assert db.run(f"SELECT count() FROM {T}") == "7\n"


@pytest.mark.parametrize("sql", [
    "SET TimeZone = 'UTC'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH ':memory:' AS x",
    "CREATE TABLE x AS SELECT 1",
    "PRAGMA enable_profiling",
    "COPY (SELECT 1) TO '/tmp/asl_review.csv'",
])
def test_duckdb_dialect_is_sandboxed_too(sql):
    with sqlbridge.connect(FakeLoader(), dialect="duckdb", time_zone="UTC") as duck:
        with pytest.raises(Readonly):
            duck.run(sql)
        assert duck.run("SELECT count(*) FROM system.asynchronous_loader") == "7\n"

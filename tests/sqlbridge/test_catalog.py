"""The system tables as SQL users see them: names, ClickHouse types, descriptions, DESCRIBE."""

from __future__ import annotations

import pyarrow as pa
import pytest

import sqlbridge
from loader.snapshot import POOLS_SCHEMA, SCHEMA
from sqlbridge import catalog
from sqlbridge.testing import FakeLoader


@pytest.fixture
def db():
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as session:
        yield session


@pytest.mark.parametrize(
    "table, schema",
    [(catalog.ASYNCHRONOUS_LOADER, SCHEMA), (catalog.ASYNCHRONOUS_LOADER_POOLS, POOLS_SCHEMA)],
)
def test_catalog_matches_the_loader_schema(table, schema):
    assert [c.name for c in table.columns] == schema.names
    for column, field in zip(table.columns, schema, strict=True):
        assert column.clickhouse_type.startswith("Nullable(") == field.nullable, column.name
        text = column.description
        assert text and "\n" not in text and text.endswith("."), column.name


def test_the_22_columns_have_the_spec_types():
    types = {c.name: c.clickhouse_type for c in catalog.ASYNCHRONOUS_LOADER.columns}
    assert len(types) == 22
    assert types["ready_seqno"] == "Nullable(UInt64)"
    assert types["dependencies"] == "Array(UInt64)"
    assert types["schedule_time"] == "DateTime64(6)"
    assert types["finish_time"] == "Nullable(DateTime64(6))"
    assert types["status"] == "Enum8('PENDING' = 0, 'OK' = 1, 'FAILED' = 2, 'CANCELED' = 3)"


def test_describe_shows_clickhouse_types_and_comments(db):
    t = db.query("DESCRIBE system.asynchronous_loader")
    assert t.column_names == ["name", "type", "default_type", "default_expression", "comment",
                              "codec_expression", "ttl_expression"]
    rows = {r["name"]: r for r in t.to_pylist()}
    assert list(rows) == SCHEMA.names
    assert rows["ready_seqno"]["type"] == "Nullable(UInt64)"
    assert rows["status"]["type"].startswith("Enum8('PENDING' = 0")
    assert rows["job"]["comment"] == "Job name (may be not unique)."
    assert all(r["comment"] for r in rows.values())


def test_describe_table_with_format_and_pools(db):
    text = db.run("DESCRIBE TABLE system.asynchronous_loader_pools FORMAT TSV")
    first = text.splitlines()[0].split("\t")
    assert first[:2] == ["pool_id", "UInt64"]
    assert len(text.splitlines()) == len(POOLS_SCHEMA)


def test_status_is_an_enum_in_sql(db):
    t = db.query("SELECT DISTINCT typeof(status) AS t FROM system.asynchronous_loader")
    assert t.column("t").to_pylist() == ["ENUM('PENDING', 'OK', 'FAILED', 'CANCELED')"]
    failed = db.query("SELECT job FROM system.asynchronous_loader WHERE status = 'FAILED'")
    assert failed.column("job").to_pylist() == ["load db.b"]
    # Enum order is the LoadStatus value, as in ClickHouse, not the alphabet.
    order = db.query("SELECT DISTINCT status FROM system.asynchronous_loader ORDER BY status")
    assert order.column("status").to_pylist() == ["PENDING", "OK", "FAILED", "CANCELED"]
    none = db.query("SELECT count() AS n FROM system.asynchronous_loader WHERE status = 'NOPE'")
    assert none.column("n").to_pylist() == [0]


def test_result_columns_carry_clickhouse_types(db):
    t = db.query("SELECT job, status, ready_seqno, schedule_time, count() OVER () AS n, "
                 "countIf(is_ready) OVER () AS r FROM system.asynchronous_loader "
                 "WHERE ready_seqno IS NULL")
    types = {f.name: (f.metadata or {}).get(b"clickhouse_type", b"").decode() for f in t.schema}
    assert types["ready_seqno"] == "Nullable(UInt64)"  # although no NULL-free row is left
    assert types["status"].startswith("Enum8(")
    assert types["schedule_time"] == "DateTime64(6)"
    assert types["job"] == "String"


def test_json_meta_uses_clickhouse_types(db):
    import json

    out = json.loads(db.run("SELECT count(), countIf(status = 'FAILED') AS failed, "
                            "any(ready_seqno) AS r, max(status) AS s, status = 'OK' AS ok "
                            "FROM system.asynchronous_loader GROUP BY status ORDER BY status "
                            "LIMIT 1 FORMAT JSON"))
    meta = {m["name"]: m["type"] for m in out["meta"]}
    assert meta["count()"] == "UInt64"
    assert meta["failed"] == "UInt64"
    assert meta["ok"] == "UInt8"
    assert meta["s"].startswith("Enum8(")


def test_no_schema_named_system_and_duckdb_system_catalog_still_works(db):
    schemas = db.query("SELECT schema_name FROM information_schema.schemata "
                       "WHERE catalog_name = 'memory'").column(0).to_pylist()
    assert "system" not in schemas
    t = db.query("SELECT name FROM system.main.duckdb_settings() WHERE name = 'TimeZone'")
    assert t.num_rows == 1
    t = db.query("SELECT count() AS n FROM duckdb_tables()")
    assert t.num_rows == 1


#: The live tables, then the history's (empty without a recorded history).
TABLES = ["asynchronous_loader", "asynchronous_loader_pools", "asynchronous_loader_workers",
          "asynchronous_loader_log",
          "asynchronous_loader_text_log", "asynchronous_loader_processes",
          "asynchronous_loader_log_archive", "asynchronous_loader_retention"]


def test_show_tables_and_system_tables(db):
    assert db.query("SHOW TABLES FROM system").column("name").to_pylist() == TABLES
    t = db.query("SELECT name, engine FROM system.tables WHERE database = 'system' ORDER BY name")
    assert t.column("name").to_pylist() == sorted(TABLES)
    t = db.query("SELECT type, comment FROM system.columns "
                 "WHERE table = 'asynchronous_loader' AND name = 'ready_seqno'")
    assert t.column("type").to_pylist() == ["Nullable(UInt64)"]


def test_pools_table(db):
    t = db.query("SELECT pool, max_threads FROM system.asynchronous_loader_pools ORDER BY pool_id")
    assert t.to_pylist() == [{"pool": "ForegroundLoad", "max_threads": 2},
                             {"pool": "BackgroundLoad", "max_threads": 1}]


def test_catalog_describe_table_is_seven_strings():
    t = catalog.describe(catalog.ASYNCHRONOUS_LOADER)
    assert all(f.type == pa.string() for f in t.schema) and t.num_rows == 22

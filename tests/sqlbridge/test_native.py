"""The Native format, byte for byte against ClickHouse itself (chdb) on the same data."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sqlbridge
from sqlbridge import catalog
from sqlbridge.formats import BINARY_FORMATS, canonical_format, native, render
from sqlbridge.testing import FakeLoader, sample_jobs

chdb = pytest.importorskip("chdb")

ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def session():
    with sqlbridge.connect(FakeLoader(), time_zone=ZONE) as db:
        yield db


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    """``run(sql)``: chdb's Native bytes for ``sql`` over ``sample_jobs()`` with the real types."""
    path = tmp_path_factory.mktemp("native") / "jobs.parquet"
    pq.write_table(sample_jobs(), path)
    table = catalog.SYSTEM_TABLES["asynchronous_loader"]
    columns = []
    for c in table.columns:
        if "DateTime" in c.clickhouse_type:
            # CAST keeps Parquet's 'UTC' in the type; the real column has no zone in its type
            columns.append(f"fromUnixTimestamp64Micro(toUnixTimestamp64Micro({c.name}))"
                           f"::{c.clickhouse_type} AS {c.name}")
        else:
            escaped = c.clickhouse_type.replace("'", "\\'")
            columns.append(f"CAST({c.name}, '{escaped}') AS {c.name}")
    source = f"(SELECT {', '.join(columns)} FROM file('{path}', Parquet))"

    def run(sql: str) -> bytes:
        sql = sql.replace("system.asynchronous_loader", source)
        return chdb.query(f"{sql} SETTINGS session_timezone = '{ZONE}' FORMAT Native",
                          "Native").bytes()

    return run


def _first_difference(ours: bytes, theirs: bytes) -> str:
    i = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
             min(len(ours), len(theirs)))
    return f"first difference at byte {i}: ours {ours[i - 20:i + 20]!r}, " \
           f"ClickHouse {theirs[i - 20:i + 20]!r}"


def test_native_is_a_binary_format_by_any_spelling():
    assert canonical_format("native") == "Native"
    assert "Native" in BINARY_FORMATS


@pytest.mark.parametrize("sql", [
    # all 22 columns: String, UInt64, Array(UInt64), Enum8, UInt8, Float64, Int64,
    # Nullable(UInt64), Nullable(String), DateTime64(6), Nullable(DateTime64(6))
    "SELECT * FROM system.asynchronous_loader ORDER BY job_id",
    # what aggregates answer
    "SELECT status, count() AS c, sum(elapsed) AS s, avg(elapsed) AS a, max(finish_time) AS m, "
    "min(job_id) AS mi, groupArray(job_id) AS g, uniqExact(pool) AS u, "
    "countIf(is_ready = 1) AS ci, max(exception) AS me, min(ready_seqno) AS mr "
    "FROM system.asynchronous_loader GROUP BY status ORDER BY status",
    "SELECT groupArray(pool) AS g, groupArray(status) AS gs, sum(priority) AS sp, "
    "quantile(0.5)(elapsed) AS q FROM system.asynchronous_loader",
    # a time zone in the type; DateTime and Date
    f"SELECT toDateTime64(schedule_time, 6, '{ZONE}') AS t, toDateTime(schedule_time) AS d, "
    "toDate(schedule_time) AS dd FROM system.asynchronous_loader ORDER BY job_id",
    # strings whose length takes two and three LEB128 bytes, and UTF-8
    "SELECT repeat('x', 300) AS r, repeat('y', 20000) AS r2, 'héllo' AS u, job "
    "FROM system.asynchronous_loader ORDER BY job_id",
])
def test_native_of_a_query_is_clickhouses_bytes(session, clickhouse, sql):
    ours = session.run(sql, "Native")
    theirs = clickhouse(sql)
    assert ours == theirs, _first_difference(ours, theirs)


def _column(name: str, ch_type: str, values: list, arrow: pa.DataType) -> tuple:
    return pa.field(name, arrow, metadata={b"clickhouse_type": ch_type.encode()}), \
        pa.array(values, arrow)


UTC = dt.UTC

# (ClickHouse query, the same values as typed Arrow columns)
TYPED_CASES = {
    "low-cardinality": (
        "SELECT * FROM values('x LowCardinality(Nullable(String)), y LowCardinality(String)', "
        "('a', 'a'), (NULL, ''), ('', 'b'), ('b', 'a'))",
        [_column("x", "LowCardinality(Nullable(String))", ["a", None, "", "b"], pa.string()),
         _column("y", "LowCardinality(String)", ["a", "", "b", "a"],
                 pa.dictionary(pa.int8(), pa.string()))]),
    "map-and-tuple": (
        "SELECT * FROM values('m Map(String, UInt64), t Tuple(a UInt8, b String)', "
        "(map('a', 1, 'b', 2), (1, 'x')), (map(), (2, 'y')))",
        [_column("m", "Map(String, UInt64)", [[("a", 1), ("b", 2)], []],
                 pa.map_(pa.string(), pa.uint64())),
         _column("t", "Tuple(a UInt8, b String)", [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
                 pa.struct([("a", pa.uint8()), ("b", pa.string())]))]),
    "wide-numbers-uuid-fixedstring": (
        "SELECT * FROM values('u UUID, d Decimal(18, 3), d2 Decimal(38, 2), i Int128, "
        "ui UInt128, f Float32, dd Date32, fs FixedString(4)', "
        "(toUUID('12345678-9abc-def0-1234-56789abcdef0'), -1.5, "
        "toDecimal128('12345678901234567.89', 2), -5, 7, 2.5, '1900-01-02', 'ab'))",
        [_column("u", "UUID", ["12345678-9abc-def0-1234-56789abcdef0"], pa.string()),
         _column("d", "Decimal(18, 3)", [decimal.Decimal("-1.5")], pa.decimal128(18, 3)),
         _column("d2", "Decimal(38, 2)", [decimal.Decimal("12345678901234567.89")],
                 pa.decimal128(38, 2)),
         _column("i", "Int128", [-5], pa.int64()),
         _column("ui", "UInt128", [7], pa.int64()),
         _column("f", "Float32", [2.5], pa.float64()),
         _column("dd", "Date32", [dt.date(1900, 1, 2)], pa.date32()),
         _column("fs", "FixedString(4)", ["ab"], pa.string())]),
    "enums-and-nested-arrays": (
        "SELECT * FROM values('e Enum16(''a'' = -300, ''b'' = 1000), "
        "ne Nullable(Enum8(''y'' = -1, ''x'' = 5)), an Array(Nullable(String)), "
        "aa Array(Array(UInt64))', ('b', NULL, ['p', NULL], [[1], [], [2, 3]]), "
        "('a', 'x', [], []))",
        [_column("e", "Enum16('a' = -300, 'b' = 1000)", ["b", "a"], pa.string()),
         _column("ne", "Nullable(Enum8('y' = -1, 'x' = 5))", [None, "x"], pa.string()),
         _column("an", "Array(Nullable(String))", [["p", None], []], pa.list_(pa.string())),
         _column("aa", "Array(Array(UInt64))", [[[1], [], [2, 3]], []],
                 pa.list_(pa.list_(pa.uint64())))]),
    "times-before-and-after-1970": (
        "SELECT * FROM values('t DateTime64(6, ''UTC''), t3 DateTime64(3), "
        "dt Nullable(DateTime(''UTC'')), d Date, b Bool', "
        "('1950-06-01 00:00:00.123456', '1969-12-31 23:59:59.999', NULL, '2024-02-29', true), "
        "('2030-01-01 00:00:00.000001', '2000-01-01 00:00:00.5', '2020-01-01 00:00:00', "
        "'1970-01-01', false)) SETTINGS session_timezone = 'UTC'",
        [_column("t", "DateTime64(6, 'UTC')", [dt.datetime(1950, 6, 1, 0, 0, 0, 123456, UTC),
                                                dt.datetime(2030, 1, 1, 0, 0, 0, 1, UTC)],
                 pa.timestamp("us", "UTC")),
         _column("t3", "DateTime64(3)", [dt.datetime(1969, 12, 31, 23, 59, 59, 999000),
                                         dt.datetime(2000, 1, 1, 0, 0, 0, 500000)],
                 pa.timestamp("us")),
         _column("dt", "Nullable(DateTime('UTC'))", [None, dt.datetime(2020, 1, 1)],
                 pa.timestamp("s", "UTC")),
         _column("d", "Date", [dt.date(2024, 2, 29), dt.date(1970, 1, 1)], pa.date32()),
         _column("b", "Bool", [True, False], pa.bool_())]),
    "empty-and-large-strings": (
        "SELECT * FROM values('a Array(String), n Nullable(String), e String, l Array(String), "
        "m Map(String, String), b String', ([], NULL, '', [repeat('x', 200)], map(), "
        "unhex('00ff')), ([], NULL, '', [], map(), ''))",
        [_column("a", "Array(String)", [[], []], pa.list_(pa.string())),
         _column("n", "Nullable(String)", [None, None], pa.string()),
         _column("e", "String", ["", ""], pa.large_string()),
         _column("l", "Array(String)", [["x" * 200], []], pa.large_list(pa.large_string())),
         _column("m", "Map(String, String)", [[], []], pa.map_(pa.string(), pa.string())),
         _column("b", "String", [b"\x00\xff", b""], pa.binary())]),
    "nothing-interval-empty-array": (
        "SELECT NULL AS n, toIntervalSecond(5) AS i, [] :: Array(UInt8) AS e",
        [_column("n", "Nullable(Nothing)", [None], pa.null()),
         _column("i", "IntervalSecond", [dt.timedelta(seconds=5)], pa.duration("us")),
         _column("e", "Array(UInt8)", [[]], pa.list_(pa.uint8()))]),
}


@pytest.mark.parametrize("case", list(TYPED_CASES))
def test_native_of_each_type_is_clickhouses_bytes(case):
    sql, columns = TYPED_CASES[case]
    table = pa.table([c for _, c in columns], schema=pa.schema([f for f, _ in columns]))
    ours = render(table, "Native")
    if " SETTINGS " not in sql:
        sql += " SETTINGS session_timezone = 'UTC'"
    theirs = chdb.query(f"{sql} FORMAT Native", "Native").bytes()
    assert ours == theirs, _first_difference(ours, theirs)


def test_native_splits_a_large_result_into_blocks_of_max_block_size_rows():
    rows = 150_000  # three blocks: 65409 + 65409 + 19182, as ClickHouse's max_block_size cuts
    numbers = pa.array(range(rows), pa.uint64())
    table = pa.table({
        "n": numbers,
        "s": numbers.cast(pa.string()),
        "a": pa.ListArray.from_arrays(pa.array(range(rows + 1), pa.int32()), numbers),
    })
    ours = render(table, "Native")
    theirs = chdb.query(f"SELECT number AS n, toString(number) AS s, [number] AS a "
                        f"FROM numbers({rows}) FORMAT Native", "Native").bytes()
    assert native.BLOCK_ROWS == 65409
    assert ours == theirs, _first_difference(ours, theirs)


def test_native_of_no_rows_is_no_bytes_as_in_clickhouse(session):
    sql = "SELECT job FROM system.asynchronous_loader WHERE job_id = 0"
    assert session.run(sql, "Native") == b""
    assert chdb.query("SELECT 1 AS x WHERE 0 FORMAT Native", "Native").bytes() == b""


def test_a_type_without_an_encoding_is_sent_as_its_text():
    field = pa.field("v", pa.string(), metadata={b"clickhouse_type": b"Object('json')"})
    table = pa.table([pa.array(['{"a":1}', None])], schema=pa.schema([field]))
    assert render(table, "Native") == (b"\x01\x02\x01v\x06String"
                                       b'\x07{"a":1}\x00')


def test_chunked_columns_encode_as_one_column():
    chunked = pa.chunked_array([pa.array(["a", None]), pa.array(["bcd"])])
    table = pa.table({"s": chunked})
    assert render(table, "Native") == (b"\x01\x03\x01s\x10Nullable(String)"
                                       b"\x00\x01\x00" b"\x01a\x00\x03bcd")


def test_a_slice_encodes_only_its_rows():
    s, values = _column("s", "Nullable(String)", ["skipped", "kept", None], pa.string())
    table = pa.table([values, pa.array([1, 2, 3], pa.uint64())],
                     schema=pa.schema([s, pa.field("n", pa.uint64())]))
    theirs = chdb.query("SELECT * FROM values('s Nullable(String), n UInt64', ('kept', 2)) "
                        "FORMAT Native", "Native").bytes()
    assert render(table.slice(1, 1), "Native") == theirs

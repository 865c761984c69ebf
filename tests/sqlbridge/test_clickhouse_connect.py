"""ClickHouse's official Python client, ``clickhouse-connect``, unchanged against the endpoint.

The client connects with ``SELECT version(), timezone()``, reads ``system.settings``, probes
``client_protocol_version`` with a Native ``SELECT 1 AS check``, then fetches every result in
Native (``query``), Arrow (``query_arrow``) or Native into numpy (``query_df``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pyarrow as pa
import pytest

import sqlbridge
from sqlbridge.testing import FakeLoader, sample_jobs

clickhouse_connect = pytest.importorskip("clickhouse_connect")

ZONE = "Asia/Tokyo"  # no daylight saving: the client applies the server's zone to DateTime64
T = "system.asynchronous_loader"


@pytest.fixture(scope="module")
def server():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone=ZONE) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    host, port = server.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    c = clickhouse_connect.get_client(host=host, port=int(port))
    yield c
    c.close()


def test_server_functions_answer_what_is_true_of_asl():
    from sqlbridge.functions.server import asl_version

    with sqlbridge.connect(FakeLoader(), time_zone=ZONE) as db:
        sql = ("SELECT version(), timezone(), currentDatabase(), currentUser(), "
               "hostName() != '' AS host")
        assert db.run(sql, "TSVWithNamesAndTypes") == (
            "version()\ttimezone()\tcurrentDatabase()\tcurrentUser()\thost\n"
            "String\tString\tString\tString\tUInt8\n"
            f"26.9.0.0.asl-{asl_version()}\t{ZONE}\tsystem\tdefault\t1\n")
    chdb = pytest.importorskip("chdb")
    clickhouse = chdb.query(f"SELECT timezone() SETTINGS session_timezone = '{ZONE}'", "TSV")
    assert clickhouse.bytes().decode() == f"{ZONE}\n"


def test_get_client_reads_asls_version_and_the_session_time_zone(client):
    assert ".asl-" in client.server_version
    assert client.min_version("26.9")  # the ClickHouse release whose protocol it speaks
    assert client.server_tz == zoneinfo.ZoneInfo(ZONE)
    settings = client.server_settings
    # what the client then sends: the zone is a setting it may change, compression is not
    assert (settings["session_timezone"].value, settings["session_timezone"].readonly) == (
        ZONE, 0)
    assert (settings["enable_http_compression"].value,
            settings["enable_http_compression"].readonly) == ("0", 1)


def test_query_decodes_all_22_columns_as_the_loader_holds_them(client):
    result = client.query(f"SELECT * FROM {T} ORDER BY job_id")
    expected = sample_jobs()
    assert list(result.column_names) == expected.column_names
    assert [t.name for t in result.column_types][:5] == [
        "String", "UInt64", "Array(UInt64)", "UInt64",
        "Enum8('PENDING' = 0, 'OK' = 1, 'FAILED' = 2, 'CANCELED' = 3)"]
    zone = zoneinfo.ZoneInfo(ZONE)
    for got, want in zip(result.named_results(), expected.to_pylist(), strict=True):
        for name, value in want.items():
            if isinstance(value, dt.datetime):
                assert got[name] == value and got[name].tzinfo == zone, name
            else:
                assert got[name] == value, name
    failed = next(r for r in result.named_results() if r["status"] == "FAILED")
    assert failed["exception"].startswith("Code: 695.") and failed["ready_seqno"] is None


def test_query_of_aggregates(client):
    rows = client.query(f"SELECT status, count() AS n, groupArray(job_id) AS ids, "
                        f"max(finish_time) AS last FROM {T} GROUP BY status "
                        "ORDER BY status").result_rows
    assert [(s, n, ids) for s, n, ids, _ in rows] == [
        ("PENDING", 3, [4, 5, 6]), ("OK", 2, [1, 7]), ("FAILED", 1, [2]),
        ("CANCELED", 1, [3])]
    assert rows[0][3] is None and rows[1][3].tzinfo == zoneinfo.ZoneInfo(ZONE)


def test_query_arrow_and_query_df(client):
    table = client.query_arrow(f"SELECT job, status, dependencies, enqueue_time FROM {T} "
                               "ORDER BY job_id")
    assert table.column("job").to_pylist() == sample_jobs().column("job").to_pylist()
    assert table.column("dependencies").to_pylist()[4] == [4, 1]
    assert pa.types.is_timestamp(table.schema.field("enqueue_time").type)
    frame = client.query_df(f"SELECT * FROM {T} ORDER BY job_id")
    assert list(frame.columns) == sample_jobs().column_names
    assert frame["status"].tolist() == sample_jobs().column("status").to_pylist()
    assert frame["ready_seqno"].isna().sum() == 6


def test_server_side_parameters(client):
    rows = client.query(f"SELECT job_id FROM {T} WHERE job = {{name:String}}",
                        parameters={"name": "load db.c"}).result_rows
    assert rows == [(4,)]


def test_a_bad_query_raises_the_clients_database_error_with_our_code(client):
    with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError) as raised:
        client.query(f"SELECT nope FROM {T}")
    assert "Code: 47." in str(raised.value)
    with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError) as raised:
        client.query("SELECT 1 FROM system.nope")
    assert "Code: 60." in str(raised.value)


def test_commands_and_settings_table(client):
    assert client.command("SELECT timezone()") == ZONE
    rows = client.query("SELECT name, value, readonly FROM system.settings "
                        "WHERE name = 'session_timezone'").result_rows
    assert rows == [("session_timezone", ZONE, 0)]


def test_system_settings_lists_what_the_endpoint_accepts_and_nothing_else(server, client):
    from sqlbridge.endpoint.handler import _TRANSPORT_SETTINGS
    from sqlbridge.limits import LIMIT_SETTINGS
    from sqlbridge.translate import _HARMLESS_SETTINGS

    rows = client.query("SELECT name, value, readonly FROM system.settings").result_rows
    names = {name for name, _, _ in rows}
    assert set(_TRANSPORT_SETTINGS) | set(_HARMLESS_SETTINGS) | LIMIT_SETTINGS <= names
    for name, value, _ in rows:  # each is accepted with its value, as the table says
        assert client.command("SELECT 1", settings={name: value}) == 1, name
    with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError) as refused:
        client.command("SELECT 1", settings={"join_use_nulls": "1"})  # not listed: refused
    assert "Code: 48." in str(refused.value)
    # the limits a request runs under when it sets none: the server's defaults
    limits = dict((n, v) for n, v, _ in rows if n in LIMIT_SETTINGS)
    assert limits["max_execution_time"] != "0" and limits["result_overflow_mode"] == "throw"

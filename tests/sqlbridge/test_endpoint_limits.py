"""The endpoint protects the process it serves: time limits that interrupt DuckDB, result caps,
a cap on statements at once, bounded threads and read deadlines, and nothing of the host shown.

Every wait is bounded; the "endless" statement is a 10^10-row cross product DuckDB needs
minutes for, stopped by each mechanism under test (never by the test's own patience).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

import pytest

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.endpoint.connections import Timeouts
from sqlbridge.testing import FakeLoader

TIMEOUT = 30.0
T = "system.asynchronous_loader"
#: Minutes of DuckDB work (a 10^10-row cross product it cannot shortcut).
ENDLESS = ("SELECT count() FROM numbers(100000) AS a, numbers(100000) AS b "
           "WHERE a.number + b.number = 3")
ENDLESS_DUCKDB = "SELECT sum(hash(a.range * b.range)) FROM range(100000) a, range(100000) b"


def get(server, timeout: float = TIMEOUT, **params: str) -> tuple[int, dict, str]:
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/?" + urllib.parse.urlencode(params))
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read().decode()
    finally:
        conn.close()


def wait_until(predicate, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def send_and_hang_up(server, query: str, **params: str) -> None:
    """Send ``query`` and close the connection once the server is running it."""
    before = server.running_queries
    sock = socket.create_connection(server.address, timeout=TIMEOUT)
    path = "/?" + urllib.parse.urlencode({"query": query, **params})
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert wait_until(lambda: server.running_queries > before)
    sock.close()


@pytest.fixture(scope="module")
def server():
    timeouts = Timeouts(header_timeout=0.5, body_timeout=0.5, keep_alive_timeout=10,
                        max_threads=8)
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone="UTC", max_execution_time=20,
                         max_concurrent_queries=3, timeouts=timeouts) as s:
        yield s


# -- time limits -------------------------------------------------------------------------------

def test_settings_max_execution_time_interrupts_the_statement(server):
    started = time.monotonic()
    status, headers, body = get(server, query=ENDLESS + " SETTINGS max_execution_time = 0.3")
    assert time.monotonic() - started < 10
    assert status == 408 and headers["X-ClickHouse-Exception-Code"] == "159"
    assert re.match(r"Code: 159\. DB::Exception: Timeout exceeded: elapsed \d+\.\d{3} ms, "
                    r"maximum: 300\.000 ms", body), body
    assert get(server, query="SELECT 1")[2] == "1\n"  # the session is still usable


def test_the_url_setting_and_the_server_default_limit_time_too():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone="UTC",
                         max_execution_time=0.3) as s:
        status, _, body = get(s, query=ENDLESS_DUCKDB, dialect="duckdb")
        assert status == 408 and "maximum: 300.000 ms" in body  # the server's default
        status, _, body = get(s, query=ENDLESS_DUCKDB, dialect="duckdb",
                              max_execution_time="0.2")
        assert status == 408 and "maximum: 200.000 ms" in body  # the URL's
        status, _, body = get(s, query=ENDLESS + " SETTINGS max_execution_time=0.1",
                              max_execution_time="0.2")
        assert status == 408 and "maximum: 100.000 ms" in body  # the statement's own
        assert get(s, query="SELECT 1", max_execution_time="0")[2] == "1\n"


def test_a_bad_limit_value_is_clickhouses_error(server):
    status, _, body = get(server, query="SELECT 1", max_execution_time="soon")
    assert status == 400 and body.startswith("Code: 27. DB::Exception: Cannot parse input")
    status, _, body = get(server, query="SELECT 1 SETTINGS result_overflow_mode = 'nope'")
    assert body.startswith("Code: 145. DB::Exception: Unexpected value of OverflowMode: 'nope'")


def test_a_client_that_hangs_up_stops_its_statement(server):
    send_and_hang_up(server, ENDLESS, max_execution_time="0")  # no time limit at all
    assert wait_until(lambda: server.running_queries == 0, 10)
    assert get(server, query="SELECT 1")[2] == "1\n"


# -- result size ---------------------------------------------------------------------------------

def test_result_caps_answer_like_clickhouse(server):
    chdb = pytest.importorskip("chdb")
    for sql in ("SELECT number FROM numbers(1000) SETTINGS max_result_rows = 10",
                "SELECT toString(number) FROM numbers(100000) SETTINGS max_result_bytes = 1000"):
        status, headers, body = get(server, query=sql)
        assert status == 500 and headers["X-ClickHouse-Exception-Code"] == "396"
        with pytest.raises(Exception) as e:
            chdb.query(sql)
        expected = str(e.value).split(", current")[0]
        assert body.startswith(expected), (body, expected)
    status, _, body = get(server, query="SELECT number FROM numbers(1000)",
                          max_result_rows="999")
    assert status == 500 and "max rows: 999.00" in body
    assert get(server, query="SELECT count() FROM numbers(1000)", max_result_rows="1")[2] == \
        "1000\n"


def test_overflow_mode_break_returns_the_first_rows(server):
    status, _, body = get(server, query="SELECT number FROM numbers(200000) SETTINGS "
                                        "max_result_rows = 10, result_overflow_mode = 'break'")
    rows = body.split("\n")[:-1]
    assert status == 200 and 10 <= len(rows) < 200000 and rows[:3] == ["0", "1", "2"]


def test_the_server_caps_results_by_default():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", max_result_bytes=10_000) as s:
        status, _, body = get(s, query="SELECT toString(number) FROM numbers(100000)")
        assert status == 500 and "max bytes: 9.77 KiB" in body


# -- statements at once, and the process keeps serving ---------------------------------------

def test_too_many_statements_at_once_is_code_202_and_ping_still_answers(server):
    clients = []
    try:
        for _ in range(3):
            sock = socket.create_connection(server.address, timeout=TIMEOUT)
            path = "/?" + urllib.parse.urlencode({"query": ENDLESS, "max_execution_time": "0"})
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            clients.append(sock)
        assert wait_until(lambda: server.running_queries == 3)
        status, headers, body = get(server, query="SELECT 1")
        assert status == 500 and headers["X-ClickHouse-Exception-Code"] == "202"
        assert body.startswith("Code: 202. DB::Exception: Too many simultaneous queries. "
                               "Maximum: 3")
        assert get(server)[2] == "Ok.\n"  # GET / and /ping are not queries
    finally:
        for sock in clients:
            sock.close()
    assert wait_until(lambda: server.running_queries == 0, 10)


def test_an_endless_statement_blocks_neither_other_clients_nor_the_loaders_jobs():
    loader = AsyncLoader([Pool("Load", 2, 0)], log_failures=False)
    try:
        with sqlbridge.serve(loader, "127.0.0.1:0", time_zone="UTC") as s:
            send_and_hang_up_later = socket.create_connection(s.address, timeout=TIMEOUT)
            path = "/?" + urllib.parse.urlencode({"query": ENDLESS_DUCKDB, "dialect": "duckdb",
                                                  "max_execution_time": "0"})
            send_and_hang_up_later.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert wait_until(lambda: s.running_queries == 1)
            jobs = [LoadJob(lambda ld, job: job.name, name=f"j{i}") for i in range(50)]
            loader.schedule(jobs)
            started = time.monotonic()
            for _ in range(20):  # the same dialect: the session endless query runs in
                status, _, body = get(s, query=f"SELECT count() FROM {T}", dialect="duckdb")
                assert status == 200
            assert get(s)[2] == "Ok.\n"
            for job in jobs:
                loader.wait(job, timeout=TIMEOUT)
            assert time.monotonic() - started < 20
            assert s.running_queries == 1  # it was still running all along
            send_and_hang_up_later.close()
            assert wait_until(lambda: s.running_queries == 0, 10)
    finally:
        loader.shutdown()


# -- connections -----------------------------------------------------------------------------

def test_idle_connections_cost_no_threads(server):
    before_threads = threading.active_count()
    socks = [socket.create_connection(server.address, timeout=TIMEOUT) for _ in range(200)]
    try:
        for sock in socks[:100]:
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")  # then kept alive, idle
        for sock in socks[:100]:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert get(server, query="SELECT 1")[2] == "1\n"
        assert threading.active_count() - before_threads <= 8
        assert server.threads <= 8
    finally:
        for sock in socks:
            sock.close()


def test_a_client_trickling_its_headers_is_cut_off(server):
    sock = socket.create_connection(server.address, timeout=5)
    stop = threading.Event()
    threads = server.threads

    def trickle() -> None:  # one byte every 20 ms, for up to 6 s: never a whole header block
        for byte in (b"GET /ping HTTP/1.1\r\nHost: example\r\nX-Slow: " + b"z" * 300):
            if stop.wait(0.02):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return

    sender = threading.Thread(target=trickle)
    sender.start()
    started = time.monotonic()
    try:
        assert sock.recv(1024) == b""  # closed by the server (header_timeout is 0.5 s)
        assert time.monotonic() - started < 4
        assert server.threads == threads  # it never held a worker
    finally:
        stop.set()
        sender.join(TIMEOUT)
        sock.close()
    assert get(server)[2] == "Ok.\n"


def test_a_half_sent_body_times_out_with_an_answer(server):
    sock = socket.create_connection(server.address, timeout=TIMEOUT)
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nSELECT")
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes: the answer, then EOF
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"Code: 209. DB::Exception:" in answer
    finally:
        sock.close()


# -- nothing of the host ---------------------------------------------------------------------

HOST_PATHS = [p for p in {os.path.expanduser("~"), sys.prefix, os.getcwd(),
                          os.path.dirname(sqlbridge.__file__)} if len(p) > 1]


@pytest.mark.parametrize("sql, dialect", [
    ("SELECT * FROM duckdb_settings()", "duckdb"),
    ("SELECT * FROM system.main.duckdb_tables()", "duckdb"),
    ("SELECT * FROM system.main.duckdb_tables", "duckdb"),
    ("SELECT sql FROM duckdb_views()", "duckdb"),
    ("SELECT * FROM duckdb_extensions()", "duckdb"),
    ("SELECT * FROM information_schema.tables", "duckdb"),
    ("SELECT * FROM pragma_database_list", "duckdb"),
    ("SELECT current_setting('extension_directory')", "duckdb"),
    ("SELECT current_setting('home_directory')", "duckdb"),
    ("SELECT * FROM duckdb_settings()", "clickhouse"),
    ("SELECT name FROM system.main.duckdb_tables()", "clickhouse"),
    ("SELECT * FROM read_csv('/etc/passwd')", "duckdb"),
    ("INSTALL httpfs", "duckdb"),
    ("SELECT * FROM file('/etc/passwd')", "clickhouse"),
])
def test_duckdbs_metadata_and_host_paths_are_not_served(server, sql, dialect):
    status, headers, body = get(server, query=sql, dialect=dialect)
    assert 400 <= status < 600 and re.match(r"Code: \d+\. DB::Exception: ", body), body
    for path in HOST_PATHS:
        assert path not in body, f"{path!r} in {body!r}"
    assert "/.duckdb" not in body


def test_the_session_zone_is_still_readable(server):
    assert get(server, query="SELECT current_setting('TimeZone')", dialect="duckdb")[2] == \
        "UTC\n"
    assert get(server, query="SELECT toStartOfHour(toDateTime('2024-01-01 10:30:00'))")[2] == \
        "2024-01-01 10:00:00\n"


def test_a_client_snapshot_is_the_whole_table_whatever_the_servers_cap():
    from sqlbridge.endpoint.client import Client
    from sqlbridge.testing import sample_jobs

    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", max_result_bytes=100) as s:
        assert get(s, query=f"SELECT * FROM {T}")[0] == 500  # capped for a plain query
        with Client(s.url) as client:
            assert client.snapshot().num_rows == sample_jobs().num_rows


def test_close_ends_an_endless_statement_and_every_worker():
    before = set(threading.enumerate())
    s = sqlbridge.serve(FakeLoader(), "127.0.0.1:0")
    sock = socket.create_connection(s.address, timeout=TIMEOUT)
    try:
        path = "/?" + urllib.parse.urlencode({"query": ENDLESS_DUCKDB, "dialect": "duckdb",
                                              "max_execution_time": "0"})
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert wait_until(lambda: s.running_queries == 1)
        started = time.monotonic()
        s.close()  # CLOSE_GRACE (2 s) for answers in flight, then connections end
        assert time.monotonic() - started < 10 and s.running_queries == 0
        assert not [t for t in set(threading.enumerate()) - before
                    if t.name.startswith("asl-http")]
    finally:
        sock.close()

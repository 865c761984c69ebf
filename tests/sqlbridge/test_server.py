"""The HTTP endpoint end to end: real sockets, real requests, a real session behind them.

Most tests share one server over ``sample_jobs()`` (times in UTC), whose answers must be the
very bytes the ``db`` fixture (a local session over the same rows, tested against ClickHouse)
renders. Every wait is bounded: sockets have timeouts and threads are joined with one.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import json
import os
import socket
import stat
import threading
import urllib.parse

import pyarrow as pa
import pytest

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.endpoint import MAX_QUERY_SIZE, UnsafeBindError, http_status
from sqlbridge.testing import FakeLoader

T = "system.asynchronous_loader"
TIMEOUT = 30.0
ALL_ROWS = f"SELECT * FROM {T} ORDER BY job_id"


@pytest.fixture(scope="module")
def server():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone="UTC") as s:
        yield s


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.body = response.read()

    @property
    def text(self) -> str:
        return self.body.decode()


def connection(server) -> http.client.HTTPConnection:
    host, port = server.address
    return http.client.HTTPConnection(host, port, timeout=TIMEOUT)


def request(server, method: str = "GET", query: str | None = None, body: bytes | str = b"",
            headers: dict | None = None, path: str = "/", conn=None, **params: str) -> Reply:
    if query is not None:
        params = {"query": query, **params}
    target = path + ("?" + urllib.parse.urlencode(params) if params else "")
    own = conn is None
    conn = conn or connection(server)
    try:
        conn.request(method, target, body=body.encode() if isinstance(body, str) else body,
                     headers=headers or {})
        return Reply(conn.getresponse())
    finally:
        if own:
            conn.close()


def raw(address, data: bytes) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- the protocol ------------------------------------------------------------------------

def test_ping_and_root_answer_ok(server):
    assert request(server, path="/ping").text == "Ok.\n"
    assert request(server).text == "Ok.\n"


def test_get_query_default_format_is_tabseparated(server, db):
    reply = request(server, query=ALL_ROWS)
    assert reply.status == 200
    assert reply.body == db.run(ALL_ROWS).encode()
    assert reply.headers["x-clickhouse-format"] == "TabSeparated"
    assert reply.headers["x-clickhouse-timezone"] == "UTC"
    assert reply.headers["content-type"] == "text/tab-separated-values; charset=UTF-8"
    assert reply.headers["x-clickhouse-query-id"]


def test_post_body_and_query_parameter_plus_body(server):
    assert request(server, "POST", body="SELECT 1 + 1").text == "2\n"
    # ClickHouse joins the query parameter, a newline and the body into one query.
    assert request(server, "POST", query="SELECT job FROM", body=f"{T} WHERE job_id = 2").text \
        == "load db.b\n"


@pytest.mark.parametrize("fmt", ["TSV", "TSVWithNamesAndTypes", "TSVRaw", "CSVWithNames",
                                 "PrettyCompact", "Pretty", "Vertical", "JSONEachRow",
                                 "JSONCompactEachRow", "Markdown", "Values", "Null", "Arrow",
                                 "ArrowStream", "Parquet"])
def test_every_format_is_the_local_sessions_bytes(server, db, fmt):
    expected = db.run(ALL_ROWS, format=fmt)
    expected = expected.encode() if isinstance(expected, str) else expected
    by_parameter = request(server, query=ALL_ROWS, default_format=fmt)
    by_clause = request(server, "POST", body=f"{ALL_ROWS} FORMAT {fmt}")
    by_header = request(server, "POST", body=ALL_ROWS, headers={"X-ClickHouse-Format": fmt})
    for reply in (by_parameter, by_clause, by_header):
        assert reply.status == 200, reply.text
        assert reply.body == expected
        assert reply.headers["x-clickhouse-format"] == by_parameter.headers["x-clickhouse-format"]


def test_json_is_the_local_sessions_apart_from_timings(server, db):
    reply = request(server, query=f"{ALL_ROWS} LIMIT 3", default_format="JSON")
    assert reply.headers["content-type"] == "application/json; charset=UTF-8"
    got, expected = json.loads(reply.body), json.loads(db.run(f"{ALL_ROWS} LIMIT 3", "JSON"))
    assert got.pop("statistics").keys() == expected.pop("statistics").keys()
    assert got == expected


def test_a_format_clause_wins_over_default_format(server):
    reply = request(server, query="SELECT 1 AS x FORMAT JSONEachRow", default_format="CSV")
    assert reply.text == '{"x":1}\n'
    assert reply.headers["x-clickhouse-format"] == "JSONEachRow"
    assert reply.headers["content-type"] == "application/x-ndjson; charset=UTF-8"
    vertical = request(server, query="SELECT 1 AS x\\G")
    assert vertical.headers["x-clickhouse-format"] == "Vertical"


def test_arrow_answer_reads_back_as_the_table(server):
    reply = request(server, query=f"SELECT job, status FROM {T} ORDER BY job_id",
                    default_format="ArrowStream")
    assert reply.headers["content-type"] == "application/octet-stream"
    table = pa.ipc.open_stream(reply.body).read_all()
    assert table.column("job").to_pylist()[:2] == ["load db.a", "load db.b"]


def test_query_parameters_are_typed_literals(server):
    reply = request(server, query="SELECT {n:UInt8} + 1 AS x, {s:String} AS s",
                    param_n="41", param_s="x' OR 1=1 --")
    assert reply.text == "42\tx\\' OR 1=1 --\n"
    rows = request(server, query=f"SELECT job FROM {T} WHERE job_id IN {{ids:Array(UInt64)}}",
                   param_ids="[2,3]")
    assert rows.text == "load db.b\nstartup db.b\n"


def test_a_missing_parameter_says_how_to_send_it_over_http(server):
    reply = request(server, query="SELECT {x:UInt8}")
    assert reply.text.startswith("Code: 456. DB::Exception: Substitution `x` is not set")
    assert "param_x=" in reply.text


def test_settings_pick_the_time_zone_and_dialect(server):
    sql = f"SELECT schedule_time FROM {T} WHERE job_id = 1"
    assert request(server, query=sql).text == "2026-11-22 06:53:57.123456\n"
    tokyo = request(server, query=sql, session_timezone="Asia/Tokyo")
    assert tokyo.text == "2026-11-22 15:53:57.123456\n"
    assert tokyo.headers["x-clickhouse-timezone"] == "Asia/Tokyo"
    duck = request(server, query=f"SELECT count(*) > 0 FROM {T} WHERE job ILIKE 'LOAD%'",
                   dialect="duckdb")
    assert duck.text == "true\n"
    harmless = request(server, query="SELECT 1", max_threads="2", log_comment="x",
                       wait_end_of_query="1", database="default", query_id="q1")
    assert harmless.text == "1\n" and harmless.headers["x-clickhouse-query-id"] == "q1"


# -- errors: ClickHouse's text, code header and HTTP status --------------------------------

@pytest.mark.parametrize(("params", "code", "status"), [
    ({"query": "SELEC 1"}, 62, 400),
    ({"query": "SELECT 1; SELECT 2"}, 62, 400),
    ({"query": "SELECT * FROM system.nosuch"}, 60, 404),
    ({"query": f"SELECT nosuch FROM {T}"}, 47, 404),
    ({"query": "SELECT nosuchfunction(1)"}, 46, 404),
    ({"query": "SELECT 1", "default_format": "Nope"}, 73, 404),
    ({"query": "SELECT * FROM file('/etc/passwd')"}, 164, 500),
    ({"query": "ATTACH DATABASE '/tmp/x.db' AS x"}, 164, 500),
    ({"query": "COPY (SELECT 1) TO '/tmp/asl-copy.csv'"}, 164, 500),
    ({"query": "SELECT {x:UInt8}"}, 456, 500),
    ({"query": "SELECT {x:UInt8}", "param_x": "300"}, 457, 500),
    ({"query": "SELECT 1", "session_timezone": "Mars/Olympus"}, 36, 400),
    ({"query": "SELECT 1", "dialect": "prql"}, 36, 400),
    ({"query": "SELECT 1", "join_use_nulls": "1"}, 48, 501),
    ({"query": f"SELECT * FROM {T} SAMPLE 0.5"}, 141, 500),
])
def test_errors_carry_clickhouse_code_text_and_status(server, params, code, status):
    reply = request(server, **params)
    assert reply.status == status, reply.text
    assert reply.headers["x-clickhouse-exception-code"] == str(code)
    assert reply.text.startswith(f"Code: {code}. DB::Exception: ")
    assert reply.text.endswith(")\n")


def test_multi_statements_are_refused_as_clickhouse_refuses_them(server):
    reply = request(server, "POST", body="SELECT 1; SELECT 2")
    assert "Multi-statements are not allowed" in reply.text
    assert request(server, "POST", body="SELECT 1;").text == "1\n"  # one statement, one ;


def test_empty_post_is_an_empty_query(server):
    reply = request(server, "POST", body="")
    assert reply.status == 400 and "Empty query" in reply.text


def test_http_status_table_is_clickhouses():
    assert [http_status(c) for c in (194, 516, 497, 62, 36, 6, 60, 73, 115, 229, 48, 209, 381,
                                     159, 164, 456, 1002, 999999)] == \
        [401, 403, 403, 400, 400, 400, 404, 404, 404, 413, 501, 503, 411, 408, 500, 500, 500, 500]
    # Codes asl raises that ClickHouse's exceptionCodeToHTTPStatus leaves at 500 (not 400/403).
    assert {http_status(c) for c in (43, 69, 141, 153, 215, 456, 457, 164)} == {500}


def test_the_statuses_table_is_the_only_source_of_http_statuses():
    from sqlbridge import errors
    from sqlbridge.endpoint import auth, handler

    classes = [c for module in (errors, auth, handler) for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, errors.QueryError)]
    assert len(classes) > 20
    assert [c.__name__ for c in classes if hasattr(c, "http_status")] == []


# -- bad requests leave the server serving and the session usable --------------------------

def test_a_bad_request_then_a_good_one_on_the_same_connection(server, db):
    conn = connection(server)
    try:
        for sql in ("SELEC 1", "SELECT * FROM read_csv('/etc/passwd')", "SET threads = 1",
                    "SELECT 1; DROP TABLE x"):
            assert request(server, "POST", body=sql, conn=conn).status >= 400
        assert request(server, "POST", body=ALL_ROWS, conn=conn).body == db.run(ALL_ROWS).encode()
    finally:
        conn.close()


def test_malformed_http_is_answered_and_forgotten(server):
    answer = raw(server.address, b"NONSENSE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"400")
    answer = raw(server.address, b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 501")
    answer = raw(server.address, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    answer = raw(server.address, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                 b"\r\nzz\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert request(server, query="SELECT 1").text == "1\n"


def test_post_without_a_length_is_411(server):
    answer = raw(server.address, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411")
    assert b"X-ClickHouse-Exception-Code: 381" in answer


def test_chunked_body_is_read(server):
    body = b"SELECT 40 + 2"
    answer = raw(server.address, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                 b"Connection: close\r\n\r\n"
                                 + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n42\n")


def test_a_huge_body_is_refused_unread_and_the_connection_closed(server):
    size = 50 * MAX_QUERY_SIZE
    with socket.create_connection(server.address, timeout=TIMEOUT) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode()
                     + b"SELECT 1 -- " + b"x" * 1000)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after answering
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Max query size exceeded" in answer and b"Connection: close" in answer
    assert request(server, query="SELECT 1").text == "1\n"


def test_a_huge_body_announced_with_expect_100_is_refused_before_it_is_sent(server):
    answer = raw(server.address, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                 + f"Content-Length: {10 * MAX_QUERY_SIZE}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400") and b"Max query size exceeded" in answer
    small = request(server, "POST", body="SELECT 7", headers={"Expect": "100-continue"})
    assert small.text == "7\n"


def test_a_too_long_query_does_not_advise_a_setting_that_changes_nothing(server):
    reply = request(server, "POST", body="SELECT 1 -- " + "x" * MAX_QUERY_SIZE,
                    max_query_size=str(4 * MAX_QUERY_SIZE))
    assert reply.status == 400 and "Max query size exceeded" in reply.text
    assert "can be increased" not in reply.text


def test_invalid_utf8_is_a_bad_argument(server):
    reply = request(server, "POST", body=b"SELECT '\xff'")
    assert reply.status == 400 and reply.headers["x-clickhouse-exception-code"] == "36"


def test_a_client_leaving_mid_answer_harms_nothing(server, db):
    big = "SELECT number, repeat('x', 100) FROM range(200000)"
    for _ in range(3):
        sock = socket.create_connection(server.address, timeout=TIMEOUT)
        body = big.encode()
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
                     .encode() + body)
        sock.recv(100)  # the answer has started
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset, mid-answer
    assert request(server, query=ALL_ROWS).body == db.run(ALL_ROWS).encode()


def test_unknown_path_is_404(server):
    reply = request(server, path="/play")
    assert reply.status == 404 and "/ping" in reply.text


# -- addresses, tokens and sockets ---------------------------------------------------------

def test_non_loopback_without_a_token_is_refused():
    with pytest.raises(UnsafeBindError, match="token"):
        sqlbridge.serve(FakeLoader(), "0.0.0.0:0")
    with pytest.raises(UnsafeBindError, match="127.0.0.1"):
        sqlbridge.serve(FakeLoader(), ("0.0.0.0", 0))


def test_non_loopback_with_a_token_binds():
    with sqlbridge.serve(FakeLoader(), "0.0.0.0:0", token="s3cret") as s:
        port = s.address[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/ping", headers={"Authorization": "Bearer s3cret"})
        assert conn.getresponse().read() == b"Ok.\n"
        conn.close()


@pytest.mark.parametrize("address", [":0", "0", 0, "localhost:0", ("", 0)])
def test_host_less_addresses_mean_loopback(address):
    with sqlbridge.serve(FakeLoader(), address) as s:
        assert s.address[0] in ("127.0.0.1", "::1")


def test_bad_address_and_token_say_what_to_do():
    with pytest.raises(ValueError, match="HOST:PORT"):
        sqlbridge.serve(FakeLoader(), "nonsense")
    with pytest.raises(ValueError, match="token_urlsafe"):
        sqlbridge.serve(FakeLoader(), "127.0.0.1:0", token="has space")


@pytest.fixture(scope="module")
def guarded():
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", token="t0ken", time_zone="UTC") as s:
        yield s


def test_a_token_is_required_on_every_request(guarded):
    for path, query in (("/", "SELECT 1"), ("/ping", None)):
        missing = request(guarded, path=path, query=query)
        assert missing.status == 401 and missing.headers["x-clickhouse-exception-code"] == "194"
        assert "www-authenticate" in missing.headers
        assert missing.text.startswith("Code: 194. DB::Exception: Authentication required")
    wrong = request(guarded, query="SELECT 1", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 403 and wrong.text.startswith("Code: 516. ")
    in_url = request(guarded, query="SELECT 1", password="t0ken")
    assert in_url.status == 401


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer t0ken"},
    {"X-ClickHouse-Key": "t0ken"},
    {"Authorization": "Basic " + base64.b64encode(b"default:t0ken").decode()},
])
def test_the_token_is_accepted_as_clickhouse_clients_send_it(guarded, headers):
    assert request(guarded, query="SELECT 1", headers=headers).text == "1\n"


def test_unsupported_auth_scheme_is_403(guarded):
    reply = request(guarded, query="SELECT 1", headers={"Authorization": "Digest x"})
    assert reply.status == 403 and "Digest" in reply.text


def unix_request(path: str, query: str) -> Reply:
    conn = http.client.HTTPConnection("localhost", timeout=TIMEOUT)
    conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.sock.settimeout(TIMEOUT)
    conn.sock.connect(path)
    try:
        conn.request("POST", "/", body=query.encode())
        return Reply(conn.getresponse())
    finally:
        conn.close()


def test_unix_socket(tmp_path):
    path = str(tmp_path / "asl.sock")
    with sqlbridge.serve(FakeLoader(), path, time_zone="UTC") as s:
        assert s.address == path
        assert s.url == "http+unix://" + urllib.parse.quote(path, safe="") + "/"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # only its owner may connect
        assert unix_request(path, f"SELECT count() FROM {T}").text == "7\n"
    assert not os.path.exists(path)


def test_unix_socket_left_by_a_dead_process_is_replaced(tmp_path):
    path = str(tmp_path / "asl.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays; nobody listens
    with sqlbridge.serve(FakeLoader(), f"unix:{path}") as s:
        assert unix_request(s.address, "SELECT 1").text == "1\n"
        with pytest.raises(OSError, match="listening"):
            sqlbridge.serve(FakeLoader(), path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        sqlbridge.serve(FakeLoader(), str(tmp_path / "file"))


# -- lifecycle -----------------------------------------------------------------------------

def test_close_stops_serving_and_is_idempotent():
    s = sqlbridge.serve(FakeLoader(), "127.0.0.1:0")
    address = s.address
    keep_alive = connection(s)
    assert request(s, query="SELECT 1", conn=keep_alive).text == "1\n"
    s.close()
    s.close()
    assert s.closed and "closed" in repr(s)
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=TIMEOUT).close()
    with pytest.raises((OSError, http.client.HTTPException)):
        request(s, query="SELECT 1", conn=keep_alive)  # the idle connection was ended too
    keep_alive.close()


def test_serve_forever_returns_when_closed_from_another_thread():
    s = sqlbridge.serve(FakeLoader(), "127.0.0.1:0")
    waiter = threading.Thread(target=s.serve_forever)
    waiter.start()
    assert request(s, path="/ping").text == "Ok.\n"
    s.close()
    waiter.join(TIMEOUT)
    assert not waiter.is_alive()


def test_sessions_per_time_zone_are_bounded(server):
    zones = ["UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Sydney",
             "Africa/Cairo", "Asia/Kolkata", "Europe/London", "America/Chicago", "Pacific/Auckland"]
    sessions = server._sessions
    for zone in zones:
        assert request(server, query="SELECT 1", session_timezone=zone).text == "1\n"
    assert len(sessions.open_keys()) <= 8
    assert sessions.default_key in sessions.open_keys()


# -- concurrency -----------------------------------------------------------------------------

def test_many_clients_at_once_each_get_their_own_consistent_answer():
    """16 clients x 8 statements while another thread keeps adding jobs: every answer is the
    client's own (its parameter echoed back) and every statement saw one snapshot (two scans of
    the table in one statement count the same rows)."""
    loader = AsyncLoader([Pool("Load", 2, 0)], log_failures=False)
    stop = threading.Event()

    def churn() -> None:
        for _ in range(200):
            if stop.is_set():
                return
            loader.schedule([LoadJob(lambda ld, job: None, name=f"j{i}") for i in range(20)])

    sql = (f"SELECT {{n:UInt32}} AS n, (SELECT count() FROM {T}) = (SELECT count() FROM {T}) "
           f"AS same, (SELECT count() FROM {T} WHERE status = 'OK') <= (SELECT count() FROM {T})"
           " AS le")

    def client(k: int) -> list[str]:
        conn = None
        answers = []
        try:
            for i in range(8):
                if i % 3 == 0:  # some fresh connections, some kept alive
                    if conn is not None:
                        conn.close()
                    conn = http.client.HTTPConnection(*s.address, timeout=TIMEOUT)
                reply = request(s, "POST", body=sql, conn=conn, param_n=str(k * 100 + i))
                answers.append(reply.text)
        finally:
            if conn is not None:
                conn.close()
        return answers

    with sqlbridge.serve(loader, "127.0.0.1:0") as s:
        feeder = threading.Thread(target=churn)
        feeder.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                futures = {pool.submit(client, k): k for k in range(16)}
                for future in concurrent.futures.as_completed(futures, timeout=120):
                    k = futures[future]
                    assert future.result() == [f"{k * 100 + i}\t1\t1\n" for i in range(8)]
        finally:
            stop.set()
            feeder.join(TIMEOUT)
            loader.shutdown()

"""Hostile and malformed HTTP: every request of the corpus gets a clear ClickHouse-style error
(``Code: N. DB::Exception: ...``, or ClickHouse's own 404 text) with an error status, and the
server keeps serving everyone else throughout.

Each request goes out raw on a fresh socket (so malformed bytes reach the server as written);
``half`` ones shut the socket's sending side after the bytes (a body that ends early). Slow
clients and idle crowds are in ``test_endpoint_limits``; here the half-sent body with a short
body deadline stands for them.
"""

from __future__ import annotations

import http.client
import re
import socket
import urllib.parse

import pytest

import sqlbridge
from sqlbridge.endpoint.connections import Timeouts
from sqlbridge.testing import FakeLoader

TIMEOUT = 30.0
T = "system.asynchronous_loader"
CLICKHOUSE_ERROR = re.compile(rb"Code: \d+\. DB::Exception: \S|There is no handle /")


def q(sql: str, **params: str) -> bytes:
    """``GET /?query=sql&...`` as raw bytes."""
    path = "/?" + urllib.parse.urlencode({"query": sql, **params})
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def post(body: bytes, *, path: str = "/", headers: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{headers}"
            "\r\n").encode() + body


CORPUS: list[tuple[str, bytes]] = [
    # -- the request line
    ("no-version", b"NONSENSE\r\n\r\n"),
    ("bare-get", b"GET\r\n\r\n"),
    ("http-9.9", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("http-0.5", b"GET / HTTP/0.5\r\n\r\n"),
    ("version-garbage", b"GET / HTTP/one\r\n\r\n"),
    ("four-words", b"GET / HTTP/1.1 extra\r\n\r\n"),
    ("long-request-line", b"GET /?query=" + b"1" * 70000 + b" HTTP/1.1\r\n\r\n"),
    ("nul-in-method", b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("unknown-method", b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("binary-method", b"\xff\xfe\xfd / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("lowercase-method", b"get /?query=SELECT%201 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("put", b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    ("delete", b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("trace", b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("patch", b"PATCH / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
    ("no-such-path", b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("emoji-path", b"GET /%F0%9F%98%80 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
    # -- headers
    ("long-header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n"),
    ("many-headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
     + b"\r\n"),
    ("header-no-colon", b"GET / HTTP/1.1\r\nHost x\r\n\r\n"),
    ("content-length-nope", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"),
    ("content-length-negative", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    ("content-length-huge", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"),
    ("expect-huge", b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    b"Content-Length: 1000000\r\n\r\n"),
    ("post-without-length", b"POST / HTTP/1.1\r\nHost: x\r\n\r\nSELECT 1"),
    ("gzip-transfer", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
    ("chunk-not-hex", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ("chunk-huge", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"FFFFFFFF\r\nSELECT"),
    ("bad-format-header", b"GET /?query=SELECT%201 HTTP/1.1\r\nHost: x\r\nX-ClickHouse-Format: "
                          + b"N" * 60000 + b"\r\n\r\n"),
    ("bad-basic-auth", b"GET /?query=SELECT%20nosuch HTTP/1.1\r\nHost: x\r\n"
                       b"Authorization: Basic ***\r\n\r\n"),
    # -- bodies that end early or are not text
    ("half-body", post(b"SELECT 1", headers="")[:-4]),
    ("half-chunk", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"10\r\nSELECT"),
    ("invalid-utf8-body", post(b"SELECT '\xff\xfe'")),
    ("invalid-utf8-url", b"GET /?query=SELECT%20%27%FF%27 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("surrogate-url", b"GET /?query=SELECT%20%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("nul-outside-string", post(b"SELECT 1\x00 FROM x")),
    ("nul-in-url", b"GET /?query=SEL%00ECT%201 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("broken-percent", b"GET /?query=SELECT%2 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("empty-post", post(b"")),
    ("only-comment", post(b"-- nothing here\n/* or here */")),
    ("query-plus-bad-body", b"POST /?query=SELECT HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
                            b"\r\nFROM nowhere"),
    ("too-large", post(b"SELECT " + b"1+" * 140000 + b"1")),
    # -- SQL a hostile client might send
    ("deep-parentheses", post(b"SELECT " + b"(" * 5000 + b"1" + b")" * 5000)),
    ("deep-arrays", post(b"SELECT " + b"[" * 3000 + b"]" * 3000)),
    ("long-sum", post(b"SELECT " + b"+".join([b"1"] * 3000))),
    ("emoji-identifier", q("SELECT 😀")),
    ("rtl-override", q("SELECT \u202e1")),
    ("zero-width-space", q("SELECT\u200b1 FROM nowhere")),
    ("bom", q("\ufeffSELECT nosuch")),
    ("unterminated-string", q("SELECT 'abc")),
    ("multi-statement", q("SELECT 1; SELECT 2")),
    ("insert", q(f"INSERT INTO {T} VALUES (1)")),
    ("drop", q(f"DROP TABLE {T}")),
    ("attach", q("ATTACH ':memory:' AS x", dialect="duckdb")),
    ("install", q("INSTALL httpfs", dialect="duckdb")),
    ("copy", q("COPY (SELECT 1) TO '/tmp/asl-hostile.csv'", dialect="duckdb")),
    ("set", q("SET max_threads = 1")),
    ("file", q("SELECT * FROM file('/etc/passwd', LineAsString)")),
    ("url-function", q("SELECT * FROM url('http://127.0.0.1:1/', CSV)")),
    ("read-text", q("SELECT * FROM read_text('/etc/hostname')", dialect="duckdb")),
    ("duckdb-settings", q("SELECT * FROM duckdb_settings()", dialect="duckdb")),
    ("internal-tables", q("SELECT sql FROM system.main.duckdb_tables()", dialect="duckdb")),
    ("unknown-format", q("SELECT 1 FORMAT NoSuchFormat")),
    ("unknown-default-format", q("SELECT 1", default_format="Nope")),
    ("unknown-setting", q("SELECT 1", no_such_setting="1")),
    ("bad-dialect", q("SELECT 1", dialect="oracle")),
    ("bad-zone", q("SELECT 1", session_timezone="Mars/Olympus")),
    ("zone-injection", q("SELECT 1", session_timezone="UTC'; DROP TABLE x; --")),
    ("bad-limit", q("SELECT 1", max_execution_time="forever")),
    ("bad-overflow-mode", q("SELECT 1", result_overflow_mode="explode")),
    ("missing-parameter", q("SELECT {x:UInt8}")),
    ("ill-typed-parameter", q("SELECT {x:UInt8}", param_x="300")),
    ("injection-parameter", q("SELECT {x:UInt8}", param_x="1; DROP TABLE t")),
    ("timeout", q("SELECT count() FROM numbers(100000) AS a, numbers(100000) AS b "
                  "WHERE a.number + b.number = 3 SETTINGS max_execution_time = 0.2")),
    ("result-too-big", q("SELECT number FROM numbers(100000)", max_result_rows="10")),
]
HALF = {"half-body", "half-chunk", "post-without-length", "gzip-transfer", "chunk-huge"}


def exchange(address: tuple[str, int], data: bytes, half: bool) -> tuple[int, bytes]:
    sock = socket.create_connection(address, timeout=TIMEOUT)
    try:
        try:
            sock.sendall(data)
            if half:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before taking every byte
            pass
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        try:
            body = reply.read()
        except http.client.IncompleteRead as e:
            body = e.partial
        return reply.status, body
    finally:
        sock.close()


@pytest.fixture(scope="module")
def server():
    timeouts = Timeouts(header_timeout=1.0, body_timeout=0.5, keep_alive_timeout=5)
    with sqlbridge.serve(FakeLoader(), "127.0.0.1:0", time_zone="UTC",
                         timeouts=timeouts) as s:
        yield s


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 60 and len({name for name, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("name, data", CORPUS, ids=[name for name, _ in CORPUS])
def test_a_hostile_request_gets_a_clickhouse_style_error(server, name, data):
    status, body = exchange(server.address, data, name in HALF)
    assert 400 <= status < 600, (status, body[:300])
    assert CLICKHOUSE_ERROR.match(body), body[:300]
    assert b"Traceback" not in body and len(body) < 100_000
    ping = exchange(server.address, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", False)
    assert ping == (200, b"Ok.\n")


def test_the_server_still_answers_queries_after_the_corpus(server):
    for name, data in CORPUS[:20]:
        exchange(server.address, data, name in HALF)
    status, body = exchange(server.address, q(f"SELECT count() FROM {T}"), False)
    assert (status, body) == (200, b"7\n")
    assert server.running_queries == 0

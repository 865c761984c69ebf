"""A fleet of live ``asl demo --serve`` processes, read by the real programs.

Two processes listen on 127.0.0.1 and 127.0.0.2 (same port), as two hosts of a fleet would;
ClickHouse itself (chdb) reads both with its ``url()`` table function, the way a ClickHouse
server federates them with no aggregator of ours: one query over both with a ``{1,2}`` glob, and
a JOIN across the two processes' tables. ``curl`` and pandas read the same endpoint.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cli_testkit import TIMEOUT, asl_command

chdb = pytest.importorskip("chdb")

T = "system.asynchronous_loader"
#: The two "hosts" of the fleet: the same simulated server, one without load failures.
REPLICAS = {"127.0.0.1": ("--failures", "0"), "127.0.0.2": ("--failures", "2")}


def _free_port_on_both() -> int:
    first, second = REPLICAS
    for _ in range(20):
        with socket.socket() as a, socket.socket() as b:
            a.bind((first, 0))
            port = a.getsockname()[1]
            try:
                b.bind((second, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no port free on both {first} and {second}")


def _spawn(host: str, port: int, extra: tuple[str, ...]) -> tuple[subprocess.Popen, queue.Queue]:
    env = {k: v for k, v in os.environ.items() if k not in ("ASL_URL", "ASL_TOKEN")}
    proc = subprocess.Popen(
        [*asl_command(), "demo", "--tables", "8", "--databases", "2", "--dictionaries", "1",
         "--speed", "50", "--no-progress", *extra, "--serve", f"{host}:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env, "TZ": "UTC"},
        stdin=subprocess.DEVNULL)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)],
                     daemon=True).start()
    return proc, lines


def _url_of(proc: subprocess.Popen, lines: queue.Queue) -> str:
    while True:
        line = lines.get(timeout=TIMEOUT)
        if line is None:
            raise RuntimeError(f"asl demo --serve exited: {proc.stderr.read()}")
        if line.startswith("Serving system.asynchronous_loader at "):
            return line.split(" at ", 1)[1].split(" ", 1)[0]


@pytest.fixture(scope="module")
def fleet():
    """{host: url} of two live ``asl demo --serve`` processes on the same port."""
    procs: list[subprocess.Popen] = []
    try:
        port = _free_port_on_both()
        started = {host: _spawn(host, port, extra) for host, extra in REPLICAS.items()}
        procs.extend(proc for proc, _ in started.values())
        yield port, {host: _url_of(*spawned) for host, spawned in started.items()}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(TIMEOUT)


def _q(sql: str) -> str:
    return urllib.parse.quote(sql, safe="")


def _get(url: str, sql: str) -> bytes:
    with urllib.request.urlopen(f"{url}?query={_q(sql)}", timeout=TIMEOUT) as r:
        return r.read()


def _clickhouse(sql: str, fmt: str = "JSONCompact"):
    out = chdb.query(sql, fmt).bytes()
    return json.loads(out)["data"] if fmt == "JSONCompact" else out.decode()


def test_clickhouse_reads_one_process_with_url_parquet_and_jsoneachrow(fleet):
    port, urls = fleet
    url = urls["127.0.0.1"]
    expected = _get(url, f"SELECT status, count() FROM {T} GROUP BY status ORDER BY status "
                         "FORMAT JSONCompact")
    want = [[s, str(n)] for s, n in json.loads(expected)["data"]]
    for fmt in ("Parquet", "JSONEachRow"):
        source = f"url('{url}?query={_q(f'SELECT * FROM {T} FORMAT {fmt}')}', {fmt})"
        got = _clickhouse(f"SELECT toString(status), toString(count()) FROM {source} "
                          "GROUP BY status ORDER BY status")
        assert got == want, fmt


def test_one_clickhouse_query_over_the_whole_fleet(fleet):
    port, urls = fleet
    counts = f"SELECT count(), countIf(status = 'FAILED') FROM {T}"
    per_process = [json.loads(_get(u, counts + " FORMAT JSONCompact"))["data"][0]
                   for u in urls.values()]
    assert per_process[0][1] == 0 < per_process[1][1]  # only the second process had failures
    glob = f"http://127.0.0.{{1,2}}:{port}/?query={_q(f'SELECT * FROM {T} FORMAT Parquet')}"
    fleetwide = _clickhouse(f"SELECT count(), countIf(status = 'FAILED') "
                            f"FROM url('{glob}', Parquet)")
    assert fleetwide == [[sum(p[0] for p in per_process), per_process[1][1]]]


def test_a_join_across_two_processes_tables(fleet):
    port, urls = fleet
    select = _q(f"SELECT job, status, elapsed FROM {T} FORMAT Parquet")
    sql = (f"SELECT a.job, a.status, b.status "
           f"FROM url('http://127.0.0.1:{port}/?query={select}', Parquet) AS a "
           f"JOIN url('http://127.0.0.2:{port}/?query={select}', Parquet) AS b USING (job) "
           "WHERE a.status != b.status ORDER BY a.job")
    differing = _clickhouse(sql)
    assert differing, "the replica with failures must differ"
    assert all(a == "OK" and b in ("FAILED", "CANCELED") for _, a, b in differing)
    assert len({job for job, _, _ in differing}) == len(differing)


def test_clickhouse_connect_reads_asl_demo_serve(fleet):
    clickhouse_connect = pytest.importorskip("clickhouse_connect")
    port, urls = fleet
    client = clickhouse_connect.get_client(host="127.0.0.2", port=port)
    try:
        assert ".asl-" in client.server_version
        assert client.server_tz.utcoffset(None) == dt.timedelta(0)  # the demo runs with TZ=UTC
        result = client.query(f"SELECT * FROM {T} ORDER BY job_id")
        assert len(result.column_names) == 22
        assert result.row_count == int(_get(urls["127.0.0.2"], f"SELECT count() FROM {T}"))
        failed = [r for r in result.named_results() if r["status"] == "FAILED"]
        assert failed and all(r["exception"].startswith("Code: ") for r in failed)
        frame = client.query_df(f"SELECT status, count() AS n FROM {T} GROUP BY status")
        assert frame["n"].sum() == result.row_count
    finally:
        client.close()


def test_http_methods_answer_as_clickhouses_server(fleet):
    port, urls = fleet
    url = urls["127.0.0.1"] + "?query=" + _q(f"SELECT count() FROM {T}")
    head = urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=TIMEOUT)
    assert head.status == 200 and head.read() == b""
    assert head.headers["X-ClickHouse-Format"] == "TabSeparated"
    # no length: the live answer may be longer by the GET, and a reader trusting a stale
    # length (DuckDB's httpfs) would cut a Parquet file short
    assert head.headers["Content-Length"] is None
    bad = urllib.request.Request(urls["127.0.0.1"] + "?query=SELECT+nope", method="HEAD")
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(bad, timeout=TIMEOUT)
    assert failed.value.code == 404 and failed.value.headers["X-ClickHouse-Exception-Code"]
    options = urllib.request.urlopen(urllib.request.Request(url, method="OPTIONS"),
                                     timeout=TIMEOUT)
    assert options.status == 204
    assert options.headers["Access-Control-Allow-Methods"] == "POST, GET, OPTIONS"
    for method in ("PUT", "DELETE", "PATCH", "TRACE"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=TIMEOUT)
        assert refused.value.code == 501, method
        text = refused.value.read().decode()
        assert text.startswith("Code: 48. DB::Exception: ") and "<html" not in text.lower()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_and_pandas_read_the_endpoint(fleet):
    pandas = pytest.importorskip("pandas")
    port, urls = fleet
    url = urls["127.0.0.2"]
    sql = f"SELECT job, status, elapsed FROM {T} ORDER BY job FORMAT CSVWithNames"
    done = subprocess.run(["curl", "-sS", "--fail", "--data-binary", sql, url],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('"job","status","elapsed"\n')
    frame = pandas.read_csv(f"{url}?query={_q(sql)}")
    assert list(frame.columns) == ["job", "status", "elapsed"]
    assert frame.equals(pandas.read_csv(io.StringIO(done.stdout)))
    assert set(frame["status"]) <= {"OK", "FAILED", "CANCELED", "PENDING"}

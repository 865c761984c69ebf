"""``--connect URL``: the commands against a running endpoint, and ``asl demo --serve``.

The endpoint runs in this process (``sqlbridge.serve`` over the known start-up state of
``startup_state``, times in UTC); ``asl`` runs as the installed script in a subprocess, where
exit codes and start-up matter, and in-process through click's runner elsewhere (faster). What
the commands print must be the bytes a local session renders for the same rows.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner
from startup_state import startup_jobs, startup_pools

import queries
import sqlbridge
from cli.main import cli
from sqlbridge.graph import select_jobs, to_dot
from sqlbridge.testing import FakeLoader

T = "system.asynchronous_loader"
ALL_ROWS = f"SELECT * FROM {T} ORDER BY job_id"
TIMEOUT = 60


def state() -> FakeLoader:
    return FakeLoader(startup_jobs(), startup_pools())


@pytest.fixture(scope="module")
def server():
    with sqlbridge.serve(state(), "127.0.0.1:0", time_zone="UTC") as s:
        yield s


@pytest.fixture(scope="module")
def local():
    """A local session over the same rows: what the server's answers must equal."""
    with sqlbridge.connect(state(), time_zone="UTC") as db:
        yield db


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(cli, list(args), input=input,
                             env={"ASL_URL": None, "ASL_TOKEN": None, "TZ": "UTC", **(env or {})})

    return invoke


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- asl sql ------------------------------------------------------------------------------

def test_sql_prints_the_servers_bytes(asl, server, local):
    done = asl("sql", "--connect", server.url, ALL_ROWS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == local.run(ALL_ROWS)  # TabSeparated in a pipe, as without --connect
    vertical = asl("sql", "--connect", server.url, f"{ALL_ROWS} LIMIT 2", "--format", "Vertical")
    assert vertical.stdout == local.run(f"{ALL_ROWS} LIMIT 2", "Vertical")


def test_a_script_runs_statement_by_statement_and_stops_at_the_first_error(asl, server):
    done = asl("sql", "--connect", server.url, "-", stdin=(
        "SELECT 1;\n-- a comment; with a semicolon\n"
        "SELECT 'a;b' AS s FORMAT JSONEachRow;\n"
        f"SELECT nosuch FROM {T}; SELECT 3"))
    assert done.returncode == 1
    assert done.stdout == '1\n{"s":"a;b"}\n'
    assert done.stderr.startswith("Code: 47. DB::Exception: ")
    assert done.stderr.count("\n") == 1


def test_options_become_clickhouse_settings_and_parameters(run, server, local):
    sql = f"SELECT schedule_time FROM {T} WHERE job_id = 1"
    utc = run("sql", "--connect", server.url, sql)
    tokyo = run("sql", "--connect", server.url, sql, "--time-zone", "Asia/Tokyo")
    assert utc.exit_code == 0 and tokyo.exit_code == 0, tokyo.output
    assert utc.stdout != tokyo.stdout
    with sqlbridge.connect(state(), time_zone="Asia/Tokyo") as db:
        assert tokyo.stdout == db.run(sql)
    params = run("sql", "--connect", server.url, "SELECT {n:UInt8} + 1 AS x, {s:String} AS s",
                 "--param", "n=41", "--param", "s=it's")
    assert params.stdout == "42\tit\\'s\n"
    duck = run("sql", "--connect", server.url, "--dialect", "duckdb",
               f"SELECT count(*) > 0 FROM {T} WHERE job ILIKE 'load%'")
    assert duck.stdout == "true\n"
    jsoned = run("sql", "--connect", server.url, f"{ALL_ROWS} LIMIT 1", "-f", "JSONEachRow")
    assert jsoned.stdout == local.run(f"{ALL_ROWS} LIMIT 1", "JSONEachRow")


def test_clickhouse_client_parameter_spelling(asl, server):
    done = asl("sql", "--connect", server.url, "SELECT {job:String}", "--param_job=x y")
    assert done.returncode == 0 and done.stdout == "x y\n"


@pytest.mark.parametrize(("args", "code"), [
    (("SELECT 1", "--format", "Nope"), 73),  # the server knows the formats
    (("SELECT 1", "--time-zone", "Mars/Olympus"), 36),
    (("SELECT {x:UInt8}",), 456),
    ((f"SELECT * FROM {T} FORMAT Nope",), 73),
])
def test_server_errors_exit_1_with_its_text(run, server, args, code):
    done = run("sql", "--connect", server.url, *args)
    assert done.exit_code == 1
    assert done.stderr.startswith(f"Code: {code}. DB::Exception: ")
    assert done.stdout == ""


def test_bad_param_syntax_is_still_a_usage_error(run, server):
    done = run("sql", "--connect", server.url, "SELECT 1", "--param", "novalue")
    assert done.exit_code == 2 and "name=value" in done.output


def test_asl_url_from_the_environment(run, server):
    done = run("sql", "SELECT 40 + 2", env={"ASL_URL": server.url})
    assert done.exit_code == 0 and done.stdout == "42\n"


@pytest.mark.parametrize("url", [lambda: f"http://127.0.0.1:{free_port()}",
                                 lambda: "unix:/nonexistent/asl.sock"])
def test_no_server_is_one_clean_line_and_exit_2(asl, url):
    target = url()
    done = asl("sql", "--connect", target, "SELECT 1")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in done.stderr
    assert line.startswith("Error: Code: 210. DB::NetException: ")
    assert target in line and "asl demo --serve" in line


def test_a_bad_url_is_a_usage_error(run):
    done = run("sql", "--connect", "ftp://example", "SELECT 1")
    assert done.exit_code == 2 and "http://HOST:PORT" in done.output


def test_sql_connect_imports_nothing_heavy(server):
    probe = ("import sys\nfrom cli.main import main\n"
             f"code = main(['sql', '--connect', {server.url!r}, 'SELECT 1'])\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
             "{'pyarrow', 'duckdb', 'sqlglot', 'loader', 'numpy', 'pandas'} | "
             "{m for m in sys.modules if m == 'http.server' or m.startswith('sqlbridge') "
             "and m not in ('sqlbridge', 'sqlbridge.endpoint', 'sqlbridge.endpoint.client', "
             "'sqlbridge.errors')})\n"
             "print('HEAVY', heavy, 'CODE', code)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "ASL_URL": "", "ASL_TOKEN": ""})
    assert done.stdout.endswith("1\nHEAVY [] CODE 0\n"), done.stdout + done.stderr


# -- tokens and sockets --------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded():
    with sqlbridge.serve(state(), "127.0.0.1:0", token="t0ken", time_zone="UTC") as s:
        yield s


def test_the_token_comes_from_asl_token_or_token(run, guarded):
    assert run("sql", "--connect", guarded.url, "SELECT 1",
               env={"ASL_TOKEN": "t0ken"}).stdout == "1\n"
    assert run("sql", "--connect", guarded.url, "--token", "t0ken", "SELECT 1").stdout == "1\n"
    missing = run("sql", "--connect", guarded.url, "SELECT 1")
    assert missing.exit_code == 1 and missing.stderr.startswith("Code: 194. ")
    wrong = run("sql", "--connect", guarded.url, "SELECT 1", env={"ASL_TOKEN": "nope"})
    assert wrong.exit_code == 1 and wrong.stderr.startswith("Code: 516. ")


def test_unix_socket_urls(run, tmp_path):
    path = str(tmp_path / "asl.sock")
    with sqlbridge.serve(state(), path) as s:
        for url in (s.url, f"unix:{path}"):
            done = run("sql", "--connect", url, f"SELECT count() FROM {T}")
            assert done.exit_code == 0 and done.stdout == f"{startup_jobs().num_rows}\n"


# -- asl query, asl graph ------------------------------------------------------------------

def test_query_runs_the_saved_sql_on_the_server(run, server, local):
    saved = queries.load("blocked")
    done = run("query", "--connect", server.url, "blocked", "-f", "TSVWithNames")
    assert done.exit_code == 0, done.output
    assert done.stdout == local.run(saved.sql, "TSVWithNames")
    job = run("query", "--connect", server.url, "job", "--param",
              "job=startup Ordinary database logs", "-f", "TSVRaw")
    assert job.exit_code == 0 and job.stdout.startswith("startup Ordinary database logs\t")
    missing = run("query", "--connect", server.url, "job")
    assert missing.exit_code == 1 and missing.stderr.startswith("Code: 456. ")


def test_graph_draws_the_servers_jobs(run, server):
    done = run("graph", "--connect", server.url, "-f", "dot")
    assert done.exit_code == 0, done.output
    expected = to_dot(select_jobs(startup_jobs(), max_jobs=500), title=f"asl {server.url}")
    assert done.stdout == expected


def test_remote_snapshot_is_the_loaders_table(server):
    from sqlbridge.endpoint.client import Client

    with Client(server.url) as remote:
        assert remote.snapshot().equals(startup_jobs())
        assert remote.pool_snapshot().equals(startup_pools())


# -- asl demo --serve ----------------------------------------------------------------------

def test_demo_serves_until_interrupted(asl_argv, asl):
    env = {k: v for k, v in os.environ.items() if k not in ("ASL_URL", "ASL_TOKEN")}
    proc = subprocess.Popen([*asl_argv, "demo", "--tables", "8", "--databases", "2",
                             "--dictionaries", "1", "--failures", "1", "--speed", "50",
                             "--no-progress", "--serve", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env, "TZ": "UTC"}, stdin=subprocess.DEVNULL)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],  # type: ignore
                     daemon=True).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=TIMEOUT)
            if line.startswith("Serving system.asynchronous_loader at "):
                url = line.split(" at ", 1)[1].split(" ", 1)[0]
        example = lines.get(timeout=TIMEOUT)
        assert example.startswith(f"  asl sql --connect {url} ")
        done = asl("sql", "--connect", url, f"SELECT countIf(status = 'FAILED') > 0, "
                   f"countIf(status = 'PENDING') FROM {T}")
        assert done.returncode == 0 and done.stdout == "1\t0\n", done.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 0
        assert "stopped serving" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)


def test_demo_refuses_to_serve_beyond_loopback_without_a_token(run):
    done = run("demo", "--serve", "0.0.0.0:0", "--tables", "8")
    assert done.exit_code == 2
    assert "token" in done.output and "Summary" not in done.output

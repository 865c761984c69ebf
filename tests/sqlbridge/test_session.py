"""A session over a real AsyncLoader: live rows in every state, fresh snapshots, time zones,
threads. Jobs are held in place with events, so every state asserted here is certain."""

from __future__ import annotations

import datetime as dt
import threading
import time
import zoneinfo

import pyarrow as pa
import pytest

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.errors import QueryError
from sqlbridge.testing import FakeLoader

TIMEOUT = 30.0
T = "system.asynchronous_loader"


class Holds:
    """Events a job blocks on; all released at teardown so no worker is left hanging."""

    def __init__(self) -> None:
        self.events: list[threading.Event] = []

    def event(self) -> threading.Event:
        e = threading.Event()
        self.events.append(e)
        return e

    def release(self) -> None:
        for e in self.events:
            e.set()


@pytest.fixture
def holds():
    h = Holds()
    yield h
    h.release()


@pytest.fixture
def loader(holds):
    ld = AsyncLoader([Pool("ForegroundLoad", 2, 0), Pool("BackgroundLoad", 1, 1)],
                     log_failures=False)
    yield ld
    holds.release()
    ld.shutdown()


def ok(loader, job):
    return job.name


def boom(loader, job):
    raise ValueError("boom")


def holding(started: threading.Event, release: threading.Event):
    def func(loader, job):
        started.set()
        assert release.wait(TIMEOUT), "test never released the job"
    return func


@pytest.fixture
def scene(loader, holds):
    """OK, FAILED, CANCELED, executing, blocked and ready jobs, all at once."""
    started, release = holds.event(), holds.event()
    a = LoadJob(ok, name="load db.a")
    b = LoadJob(boom, name="load db.b")
    c = LoadJob(ok, name="startup db.b", dependencies=[b])
    d = LoadJob(holding(started, release), name="load db.d", pool=1)
    e = LoadJob(ok, name="startup db.d", dependencies=[d], pool=1)
    f = LoadJob(ok, name="load db.f", pool=1)
    loader.schedule([a, b, c])
    loader.wait(a, timeout=TIMEOUT)
    loader.wait(c, no_throw=True, timeout=TIMEOUT)
    loader.schedule([d, e])
    assert started.wait(TIMEOUT)
    loader.schedule(f)  # the only BackgroundLoad worker is busy: f waits, ready
    return {"jobs": (a, b, c, d, e, f), "release": release}


@pytest.fixture
def db(loader):
    with sqlbridge.connect(loader, time_zone="UTC") as session:
        yield session


def rows(db, sql):
    return db.query(sql).to_pylist()


def test_every_state_is_visible(db, scene):
    got = {r["job"]: r for r in rows(db, f"SELECT * FROM {T}")}
    assert got["load db.a"]["status"] == "OK" and got["load db.a"]["exception"] is None
    assert got["load db.b"]["status"] == "FAILED"
    assert "Load job 'load db.b' failed: ValueError: boom" in got["load db.b"]["exception"]
    assert got["startup db.b"]["status"] == "CANCELED"
    assert "load db.b" in got["startup db.b"]["exception"]
    d, e, f = got["load db.d"], got["startup db.d"], got["load db.f"]
    assert (d["status"], d["is_executing"], d["ready_seqno"]) == ("PENDING", 1, None)
    assert d["start_time"] is not None and d["finish_time"] is None
    assert (e["is_blocked"], e["dependencies_left"]) == (1, 1)
    assert e["dependencies"] == [d["job_id"]]
    assert f["is_ready"] == 1 and f["ready_seqno"] is not None and f["enqueue_time"] is not None


def test_sql_sees_enum_times_and_nulls(db, scene):
    assert rows(db, f"SELECT job FROM {T} WHERE status = 'FAILED'") == [{"job": "load db.b"}]
    n = rows(db, f"SELECT count() AS n FROM {T} WHERE now() - INTERVAL 1 HOUR < schedule_time "
                 "AND schedule_time <= now()")
    assert n == [{"n": 6}]
    pending = rows(db, f"SELECT job FROM {T} WHERE finish_time IS NULL ORDER BY job")
    assert [r["job"] for r in pending] == ["load db.d", "load db.f", "startup db.d"]
    late = rows(db, f"SELECT count() AS n FROM {T} WHERE start_time > now() + INTERVAL 1 MINUTE")
    assert late == [{"n": 0}]
    t = db.query(f"SELECT typeof(status) AS t, typeof(schedule_time) AS s FROM {T} LIMIT 1")
    assert t.to_pylist() == [{"t": "ENUM('PENDING', 'OK', 'FAILED', 'CANCELED')",
                              "s": "TIMESTAMP WITH TIME ZONE"}]


def test_the_documented_query(db, scene):
    text = db.run(f"SELECT * FROM {T} FORMAT Vertical LIMIT 1")
    lines = text.splitlines()
    assert lines[:3] == ["Row 1:", "──────", "job:                load db.a"]
    assert len([x for x in lines if ":" in x]) == 23
    assert text == db.run(f"SELECT * FROM {T} LIMIT 1 FORMAT Vertical")
    assert text == db.run(f"SELECT * FROM {T} LIMIT 1\\G")


def test_each_statement_sees_a_fresh_snapshot(db, loader, scene, holds):
    before = rows(db, f"SELECT count() AS n FROM {T}")[0]["n"]
    loader.schedule(LoadJob(ok, name="load db.new"))
    assert rows(db, f"SELECT count() AS n FROM {T}")[0]["n"] == before + 1
    scene["release"].set()
    loader.wait_all(timeout=TIMEOUT)
    left = rows(db, f"SELECT count() AS n FROM {T} WHERE status = 'PENDING'")
    assert left == [{"n": 0}]


class CountingLoader:
    def __init__(self, inner):
        self.inner, self.jobs, self.pools = inner, 0, 0

    def snapshot(self):
        self.jobs += 1
        return self.inner.snapshot()

    def pool_snapshot(self):
        self.pools += 1
        return self.inner.pool_snapshot()


@pytest.mark.parametrize("sql, jobs, pools", [
    ("SELECT 1", 0, 0),
    (f"SELECT count() FROM {T}", 1, 0),
    (f"SELECT a.job, b.job FROM {T} AS a JOIN {T} AS b ON has(a.dependencies, b.job_id)", 1, 0),
    ("SELECT * FROM system.asynchronous_loader_pools", 0, 1),
    (f"SELECT p.pool, count() FROM {T} AS j JOIN system.asynchronous_loader_pools AS p "
     "ON j.pool_id = p.pool_id GROUP BY p.pool", 1, 1),
    ("DESCRIBE system.asynchronous_loader", 0, 0),
])
def test_one_snapshot_per_statement_and_pools_only_when_asked(loader, scene, sql, jobs, pools):
    counting = CountingLoader(loader)
    with sqlbridge.connect(counting) as session:
        session.query(sql)
        assert (counting.jobs, counting.pools) == (jobs, pools)


def test_a_self_join_sees_one_consistent_state(db, scene):
    # Every dependency id of every job resolves to a row of the same snapshot.
    t = rows(db, f"SELECT count() AS n FROM {T} AS j ARRAY JOIN j.dependencies AS dep "
                 f"LEFT JOIN {T} AS d ON d.job_id = dep WHERE d.job IS NULL")
    assert t == [{"n": 0}]


def test_pools_table_is_live(db, scene):
    got = {r["pool"]: r for r in rows(db, "SELECT * FROM system.asynchronous_loader_pools")}
    assert got["BackgroundLoad"]["max_threads"] == 1
    assert got["BackgroundLoad"]["executing_jobs"] == 1
    assert got["BackgroundLoad"]["ready_jobs"] == 1


def test_times_render_in_the_session_time_zone(loader, scene):
    a = scene["jobs"][0]
    zone = "Asia/Kathmandu"  # +05:45: no chance of matching UTC by accident
    with sqlbridge.connect(loader, time_zone=zone) as session:
        text = session.run(f"SELECT schedule_time FROM {T} WHERE job_id = {a.job_id}")
    local = a.schedule_time.astimezone(zoneinfo.ZoneInfo(zone))
    assert text == local.strftime("%Y-%m-%d %H:%M:%S.%f") + "\n"


def test_session_time_zone_reaches_duckdb(loader):
    with sqlbridge.connect(loader, time_zone="Asia/Kathmandu") as session:
        t = session.query("SELECT current_setting('TimeZone') AS tz, "
                          "CAST(toDateTime('2026-11-22 12:38:00') AS VARCHAR) AS local")
        assert t.to_pylist() == [{"tz": "Asia/Kathmandu", "local": "2026-11-22 12:38:00+05:45"}]


def test_default_time_zone_is_the_local_one(loader):
    from sqlbridge.timezone import local_time_zone

    with sqlbridge.connect(loader) as session:
        assert session.time_zone == local_time_zone()
        t = session.query("SELECT current_setting('TimeZone') AS tz")
        assert t.column("tz").to_pylist()[0] in (local_time_zone(), f"Etc/{local_time_zone()}")


def test_unknown_time_zone_is_refused(loader):
    with pytest.raises(ValueError, match="time zone"):
        sqlbridge.connect(loader, time_zone="Mars/Olympus_Mons")


def test_bad_query_then_good_query(db, scene):
    for bad in ("SELEC 1", f"SELECT nosuch FROM {T}", "INSERT INTO t VALUES (1)",
                "SELECT * FROM system.nope", "SELECT 1 FORMAT Nope"):
        with pytest.raises(QueryError):
            db.run(bad)
        assert rows(db, f"SELECT count() AS n FROM {T} WHERE job = 'load db.a'") == [{"n": 1}]


def test_duckdb_connection_sees_the_live_views(db, loader, scene):
    con = db.duckdb
    q = "SELECT count(*) FROM asl_system.asynchronous_loader"
    before = con.sql(q).fetchall()[0][0]
    loader.schedule(LoadJob(ok, name="load db.more"))
    assert con.sql(q).fetchall()[0][0] == before + 1


def test_concurrent_readers_while_the_loader_churns(db, loader):
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn():
        i = 0
        while not stop.is_set() and i < 2000:
            jobs = [LoadJob(ok, name=f"churn {i}.{k}") for k in range(5)]
            jobs.append(LoadJob(ok, name=f"churn {i}.top", dependencies=jobs[:3]))
            loader.schedule(jobs)
            loader.wait(jobs[-1], timeout=TIMEOUT)
            if i % 2:
                loader.remove(jobs)
            i += 1

    def read(n: int):
        try:
            for _ in range(n):
                t = db.query(f"SELECT count() AS total, countIf(status = 'OK') AS ok, "
                             f"countIf(status = 'PENDING') AS pending, "
                             f"countIf(status IN ('FAILED', 'CANCELED')) AS bad FROM {T}")
                r = t.to_pylist()[0]
                assert r["total"] == r["ok"] + r["pending"] + r["bad"]
                assert r["bad"] == 0
                text = db.run(f"SELECT job, status FROM {T} ORDER BY job_id LIMIT 3")
                assert text.count("\n") <= 3
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    churner = threading.Thread(target=churn)
    readers = [threading.Thread(target=read, args=(20,)) for _ in range(4)]
    churner.start()
    for r in readers:
        r.start()
    for r in readers:
        r.join(TIMEOUT)
    stop.set()
    churner.join(TIMEOUT)
    assert not churner.is_alive() and not any(r.is_alive() for r in readers)
    assert not failures, failures[0]


def test_context_manager_closes(loader):
    with sqlbridge.connect(loader) as session:
        session.query("SELECT 1")
    with pytest.raises(QueryError):
        session.query("SELECT 1")


def test_fake_loader_tables_are_accepted():
    fake = FakeLoader()
    with sqlbridge.connect(fake) as session:
        t = session.query(f"SELECT job_id FROM {T} ORDER BY job_id")
        assert t.column("job_id").to_pylist() == list(range(1, 8))
        assert t.schema.field("job_id").type == pa.uint64()
    assert fake.snapshot_calls == 1


def test_times_are_utc_instants(db, scene):
    t = db.query(f"SELECT schedule_time FROM {T} ORDER BY job_id LIMIT 1")
    value = t.column(0).to_pylist()[0]
    a = scene["jobs"][0]
    assert value == a.schedule_time and value.utcoffset() == dt.timedelta(0)


# -- the one entry point -----------------------------------------------------------------------

@pytest.fixture
def tokenised(monkeypatch):
    """The texts sqlglot's tokenizer is given that contain ``MARK`` (a statement of the test's,
    not the session's own templates)."""
    from sqlglot.tokens import Tokenizer

    seen: list[str] = []
    original = Tokenizer.tokenize

    def counting(self, sql: str):
        if MARK in sql:
            seen.append(sql)
        return original(self, sql)

    monkeypatch.setattr(Tokenizer, "tokenize", counting)
    return seen


MARK = "asl_tokenise_once"


@pytest.mark.parametrize("sql, fmt", [
    (f"SELECT job AS {MARK} FROM {T} ORDER BY job LIMIT 2", "JSON"),  # two translations
    (f"SELECT job AS {MARK} FROM {T} ORDER BY job LIMIT 2 FORMAT JSONCompact", None),
    (f"SELECT count() AS {MARK} FROM {T} \\G", "TSV"),
    (f"SELECT status, count() AS {MARK} FROM {T} GROUP BY status ORDER BY status", "CSV"),
])
def test_execute_tokenises_a_statement_once(tokenised, sql, fmt):
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        answer = db.execute(sql, format=fmt)
        assert answer.table.num_rows > 0 and answer.render()
        assert len(tokenised) == 1, tokenised
        db.execute(sql, format=fmt)  # the translation is cached: only the split tokenises
        assert len(tokenised) == 2, tokenised


def test_a_script_is_tokenised_once_for_all_its_statements(tokenised):
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        pieces = db.split(f"SELECT 1 AS {MARK}; SELECT 2 AS {MARK}_b;\nSELECT 3 AS {MARK}_c")
        assert [db.execute(p, format="TSV").render() for p in pieces] == ["1\n", "2\n", "3\n"]
    assert len(tokenised) == 1, tokenised


def test_parameters_cost_one_more_tokenisation_only_when_there_are_placeholders(tokenised):
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        sql = f"SELECT {{n:UInt8}} + 1 AS {MARK}"
        assert db.execute(sql, params={"n": "41"}, format="TSV").render() == "42\n"
    assert len(tokenised) == 2  # the script, then the statement with its literal spliced in


def test_execute_returns_the_answer_of_run_and_query():
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        sql = f"SELECT job, status FROM {T} ORDER BY job LIMIT 3"
        answer = db.execute(sql)
        assert answer.format is None and answer.time_zone == "UTC"
        assert answer.table.equals(db.query(sql))
        assert answer.render() == db.run(sql)
        assert db.execute(sql, format="JSONEachRow").render() == db.run(sql, "JSONEachRow")
        clause = db.execute(sql + " FORMAT CSV", format="JSON")  # the clause wins
        assert clause.format == "CSV" and clause.render() == db.run(sql, "CSV")
        vertical = db.execute(sql + " \\G")
        assert vertical.format == "Vertical"
        json_answer = db.execute(sql, format="JSON")
        assert json_answer.rows_before_limit == 7
        assert '"rows_before_limit_at_least": 7' in json_answer.render()


def test_execute_fills_parameters_and_refuses_a_missing_one():
    from sqlbridge.errors import UnknownQueryParameter

    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        sql = f"SELECT count() FROM {T} WHERE job LIKE {{p:String}}"
        assert db.execute(sql, params={"p": "load%"}, format="TSV").render() == \
            db.run(f"SELECT count() FROM {T} WHERE job LIKE 'load%'")
        with pytest.raises(UnknownQueryParameter):
            db.execute(sql)


def test_execute_takes_one_statement():
    from sqlbridge.errors import SyntaxError_

    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as db:
        with pytest.raises(SyntaxError_, match="Multi-statements"):
            db.execute("SELECT 1; SELECT 2")
        with pytest.raises(SyntaxError_, match="Empty query"):
            db.execute("  -- nothing\n")


class _PeakSet(set):
    """The session's busy lanes, remembering the most ever held at once."""

    peak = 0

    def add(self, item: object) -> None:
        super().add(item)
        self.peak = max(self.peak, len(self))


def test_lanes_never_exceed_max_lanes_when_many_statements_open_them_at_once():
    # A new lane is opened outside the session's lock: threads that all found no idle lane
    # must not all open one. Eight threads race for two lanes; opening a lane is held up
    # until as many threads as could possibly open one have tried (or a second has passed).
    threads, max_lanes = 8, 2
    with sqlbridge.Session(FakeLoader(), max_lanes=max_lanes) as db:
        busy = _PeakSet()
        db._busy = busy
        real_new_lane = db._new_lane
        opening, gate = threading.Semaphore(0), threading.Event()
        opened = []

        def slow_new_lane():
            opened.append(1)
            opening.release()
            assert gate.wait(10)
            return real_new_lane()

        db._new_lane = slow_new_lane
        start = threading.Barrier(threads + 1, timeout=10)
        errors: list[BaseException] = []

        def statement() -> None:
            try:
                start.wait()
                assert db.query("SELECT count() AS n FROM system.asynchronous_loader"
                                ).column("n").to_pylist() == [7]
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        workers = [threading.Thread(target=statement) for _ in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        assert opening.acquire(timeout=10)  # the first lane beyond the idle one is opening
        # Without the reservation, every thread but the idle lane's would be in here now.
        deadline = time.monotonic() + 1.0
        for _ in range(threads - 2):
            if not opening.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        gate.set()
        for w in workers:
            w.join(10)
        assert not any(w.is_alive() for w in workers)
        assert errors == []
        assert len(opened) <= max_lanes - 1  # one idle lane existed; one more may be opened
        assert busy.peak <= max_lanes


@pytest.mark.parametrize("sql", [
    "EXPLAIN SELECT 1 SETTINGS max_result_rows = 1, result_overflow_mode = 'throw'",
    "EXPLAIN SYNTAX SELECT 1, 2 SETTINGS max_result_bytes = 1",
])
def test_explain_honours_the_querys_result_limits(db, sql):
    from sqlbridge.errors import TooManyRowsOrBytes

    with pytest.raises(TooManyRowsOrBytes, match="Limit for result exceeded"):
        db.execute(sql)
    assert db.execute("SELECT 1").table.num_rows == 1  # the session is still usable


def test_explain_checks_its_settings_as_the_query_would(db):
    from sqlbridge.errors import CannotParseInputAssertionFailed

    with pytest.raises(CannotParseInputAssertionFailed):
        db.execute("EXPLAIN SELECT 1 SETTINGS max_execution_time = 'soon'")
    plan = db.execute("EXPLAIN SELECT 1 SETTINGS max_execution_time = 5, max_result_rows = 100")
    assert plan.table.column_names == ["explain"] and plan.table.num_rows > 1

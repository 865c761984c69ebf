"""The demo's server start-up: realistic shape, reproducible by seed, server semantics."""

from __future__ import annotations

import threading

import pytest

from loader import AsyncLoader, LoadStatus
from loader.demo import (
    BACKGROUND_LOAD,
    BACKGROUND_STARTUP,
    FOREGROUND,
    Startup,
    StartupConfig,
    plan,
    server_pools,
)


@pytest.fixture
def make_startup():
    loaders = []

    def make(**kw):
        loader = AsyncLoader(server_pools(2), log_failures=False)
        loaders.append(loader)
        return Startup(loader, StartupConfig(time_scale=0.0, **kw))

    yield make
    for loader in loaders:
        loader.shutdown()


def test_a_seed_gives_the_same_server():
    assert plan(StartupConfig(seed=5)) == plan(StartupConfig(seed=5))
    assert plan(StartupConfig(seed=5)) != plan(StartupConfig(seed=6))


def test_the_graph_has_the_servers_jobs_and_pools(make_startup):
    s = make_startup(tables=40, databases=4, dictionaries=4, failures=2)
    names = set(s.jobs)
    assert sum(n.startswith("load table system.") for n in names) == 10
    assert sum(n.startswith("load table ") and "system." not in n for n in names) == 40
    assert sum(n.startswith("startup table ") and "system." not in n for n in names) == 40
    assert sum(n.startswith("load dictionary ") for n in names) == 4
    for db, engine in s.plan.databases:
        assert f"startup Ordinary database {db}" in names
        assert (f"startup Atomic database {db}" in names) == (engine != "Ordinary")
    assert "startup ddl worker" in names
    for name, job in s.jobs.items():
        pool = BACKGROUND_LOAD if name.startswith("load ") else BACKGROUND_STARTUP
        assert job._pool == pool, name
    # dictionaries are loading dependencies of the tables that use them
    users = [t for t in s.plan.tables if t.dictionaries]
    assert users
    deps = {d.name for d in s.jobs[f"load table {users[0].full_name}"].dependencies}
    assert {f"load dictionary {d}" for d in users[0].dictionaries} <= deps


def test_a_startup_runs_to_the_end_with_failures_contained(make_startup):
    s = make_startup(tables=30, databases=3, dictionaries=3, failures=3)
    s.start()
    s.loader.wait_all(timeout=30)
    status = {name: job.status for name, job in s.jobs.items()}
    failed = [n for n, st in status.items() if st == LoadStatus.FAILED]
    assert len(failed) == 3
    assert any(n.startswith("load dictionary ") for n in failed)
    canceled = [n for n, st in status.items() if st == LoadStatus.CANCELED]
    assert canceled  # startups of failed tables, users of the failed dictionary
    # database startup jobs ignore their tables' failures
    for db, _ in s.plan.databases:
        assert status[f"startup Ordinary database {db}"] == LoadStatus.OK
    assert status["startup ddl worker"] == LoadStatus.OK
    # system was loaded in the foreground (waited for synchronously)
    snap = s.loader.snapshot().to_pylist()
    system = [r for r in snap if r["job"].startswith("load table system.")]
    assert {r["execution_pool"] for r in system} == {FOREGROUND}


def test_a_query_mid_load_boosts_its_table_to_the_foreground(make_startup):
    s = make_startup(tables=30, databases=3, dictionaries=3, failures=0)
    s.load_system()
    s.loader.pause()  # nothing of the user databases runs yet
    s.schedule_async()
    table = s.plan.query_table
    query = threading.Thread(target=s.query_table, kwargs={"timeout": 30})
    query.start()
    waited = s.startup_table[table].jobs[0]
    # the boost happens before the wait registers; wait for the registration (bounded)
    for _ in range(10_000):
        if waited.waiters_count:
            break
        query.join(0.001)
    assert waited.waiters_count == 1
    rows = {r["job"]: r for r in s.loader.snapshot().to_pylist()}
    chain = [f"startup table {table}", f"load table {table}"] + [
        f"load dictionary {d}" for d in next(t for t in s.plan.tables
                                             if t.full_name == table).dictionaries]
    for name in chain:
        assert rows[name]["pool"] == FOREGROUND, name
        assert rows[name]["execution_pool"] != FOREGROUND, name
    s.loader.unpause()
    query.join(30)
    assert s.query_error is None and s.query_seconds is not None
    assert s.jobs[f"startup table {table}"].execution_pool_id == 0


def test_held_jobs_wait_for_the_gate(make_startup):
    cfg = plan(StartupConfig(tables=20, databases=2, dictionaries=0, failures=0))
    held = f"load table {cfg.tables[0].full_name}"
    s = make_startup(tables=20, databases=2, dictionaries=0, failures=0,
                     hold=frozenset({held}))
    s.start()
    blocked = s.blocked_by_hold()
    assert held in blocked
    assert f"startup table {cfg.tables[0].full_name}" in blocked
    for name, job in s.jobs.items():  # every load the gate does not hold finishes...
        if name.startswith("load ") and name not in blocked:
            s.loader.wait(job, timeout=30)
    assert s.jobs[held].status == LoadStatus.PENDING  # ...while the held one still runs
    assert s.loader.snapshot().to_pylist()  # and the loader answers meanwhile
    s.release()
    s.loader.wait_all(timeout=30)
    assert s.jobs[held].status == LoadStatus.OK


@pytest.mark.parametrize("bad", [{"databases": 0}, {"databases": 9}, {"tables": 2},
                                 {"failures": -1}, {"time_scale": -1}])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        StartupConfig(**bad)

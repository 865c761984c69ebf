"""Synthetic job tables for the timeline tests: the 22 columns plus ``worker``, consistent
the way a loader's are (a lane runs one job at a time, a job starts after its dependencies
finished and after it was enqueued), built without running a loader."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pyarrow as pa

from loader.snapshot import SCHEMA

T0 = dt.datetime(2026, 12, 2, 14, 0, 0, tzinfo=dt.UTC)
#: (name, priority, workers)
POOLS = (("ForegroundLoad", 0, 2), ("BackgroundLoad", 1, 3), ("BackgrndStartup", 2, 2))


def at(us: int | None) -> dt.datetime | None:
    return None if us is None else T0 + dt.timedelta(microseconds=us)


@dataclass
class Spec:
    """One job; times are microseconds after T0 (None: not reached)."""

    job_id: int
    name: str
    pool: str
    start: int | None = None
    finish: int | None = None
    enqueue: int | None = None
    schedule: int = 0
    status: str = "OK"
    worker: int | None = None
    execution_pool: str | None = None
    dependencies: list[int] = field(default_factory=list)
    exception: str | None = None
    now: int | None = None  # for a running job: when the snapshot was taken


def table(specs: list[Spec], *, workers: bool = True) -> pa.Table:
    prio = {name: p for name, p, _ in POOLS}
    pid = {name: i for i, (name, _, _) in enumerate(POOLS)}
    rows = []
    for s in sorted(specs, key=lambda s: (s.name, s.job_id)):
        exe = s.execution_pool or s.pool
        running = s.start is not None and s.finish is None and s.status == "PENDING"
        ready = s.status == "PENDING" and s.start is None and s.enqueue is not None
        elapsed = ((s.finish - s.start) if s.finish is not None and s.start is not None
                   else (s.now - s.start) if running and s.now is not None else 0) / 1e6
        rows.append({
            "job": s.name, "job_id": s.job_id, "dependencies": s.dependencies,
            "dependencies_left": 0 if s.start is not None or ready or s.status != "PENDING"
            else len(s.dependencies),
            "status": s.status, "is_executing": int(running), "is_blocked": int(
                s.status == "PENDING" and s.start is None and s.enqueue is None),
            "is_ready": int(ready), "elapsed": elapsed,
            "pool_id": pid[s.pool], "pool": s.pool, "priority": prio[s.pool],
            "execution_pool_id": pid[exe], "execution_pool": exe, "execution_priority": prio[exe],
            "ready_seqno": s.job_id if ready else None, "waiters": 0,
            "exception": s.exception, "schedule_time": at(s.schedule),
            "enqueue_time": at(s.enqueue), "start_time": at(s.start),
            "finish_time": at(s.finish),
        })
    out = pa.Table.from_pylist(rows, schema=SCHEMA)
    if workers:
        by_id = {s.job_id: s.worker for s in specs}
        out = out.append_column("worker", pa.array(
            [by_id[i] for i in out.column("job_id").to_pylist()], pa.uint32()))
    return out


def startup(n: int = 200, seed: int = 0) -> list[Spec]:
    """A start-up of ``n`` jobs over POOLS: mostly OK, a few failed, two running, a few not
    started (ready and blocked), one canceled before it started, one boosted while running."""
    rng = random.Random(seed)
    free = {(name, w): 0 for name, _, k in POOLS for w in range(k)}
    databases = ("billing", "logs", "default")
    specs: list[Spec] = []
    finished: list[Spec] = []
    for i in range(1, n + 1):
        pool = rng.choice([p for p, _, _ in POOLS])
        lanes = [k for k in free if k[0] == pool]
        lane = min(lanes, key=lambda k: (free[k], k[1]))
        db = databases[i % 3]
        kind = {"ForegroundLoad": "load table", "BackgroundLoad": "load table",
                "BackgrndStartup": "startup table"}[pool]
        spec = Spec(i, f"{kind} {db}.t{i}", pool, schedule=rng.randrange(0, 2000))
        candidates = [f for f in finished if f.finish is not None and f.finish < free[lane]]
        spec.dependencies = [d.job_id for d in rng.sample(candidates, min(2, len(candidates)))]
        ready_at = max([spec.schedule] + [d.finish for d in finished
                                          if d.job_id in spec.dependencies])
        spec.enqueue = ready_at
        spec.start = max(free[lane], ready_at) + rng.randrange(0, 300)
        spec.finish = spec.start + rng.randrange(200, 5000)
        spec.worker = lane[1]
        spec.status = "FAILED" if i % 37 == 0 else "OK"
        if spec.status == "FAILED":
            spec.exception = f"Code: 695. Load job '{spec.name}' failed: OSError: disk <&>"
        free[lane] = spec.finish
        specs.append(spec)
        finished.append(spec)
    end = max(s.finish for s in specs)
    # Two still running at the snapshot, one of them boosted while it ran.
    for k, pool in enumerate(("BackgroundLoad", "BackgrndStartup")):
        lane = min((w for w in free if w[0] == pool), key=lambda w: free[w])
        specs.append(Spec(n + 1 + k, f"load table billing.running{k}", pool, schedule=0,
                          enqueue=free[lane], start=free[lane] + 10, status="PENDING",
                          worker=lane[1], now=end + 1000))
        free[lane] = end + 1000
    specs[-2].pool, specs[-2].execution_pool = "ForegroundLoad", "BackgroundLoad"
    specs.append(Spec(n + 3, "startup table logs.ready", "BackgrndStartup", enqueue=end - 500,
                      status="PENDING"))
    specs.append(Spec(n + 4, "startup table logs.blocked", "BackgrndStartup",
                      dependencies=[n + 3], status="PENDING"))
    specs.append(Spec(n + 5, "startup table logs.canceled", "BackgrndStartup", status="CANCELED",
                      finish=end - 100, exception="Code: 696. Load job canceled"))
    return specs

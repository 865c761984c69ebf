"""A small reference model of the engine, for ``test_model.py``.

The scenario is a random DAG of jobs (``JobSpec``) grouped into tasks, driven by random
operations from several threads at once.  Which job ends how depends on the interleaving (a
``remove`` may catch a job before or after it ran), so the model does not predict one outcome:
given the interleaving's few real choices, read back from the run (which jobs got scheduled,
which were canceled by a removal, how each sub-job wait ended), it derives every other job's
final status and says which jobs must have run and which must not.

Job functions record what they see into a ``Trace`` (one lock) and check, at the moment they
start, what must hold then: they run once, after their dependencies, and within their pool's
thread limit.  Everything else is checked afterwards from the engine's own start and finish
times (taken under the loader lock, so they order events exactly) and from snapshots.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence

import pyarrow as pa

from loader import LoadStatus

#: Job behaviours: return, raise, create a sub-job in the job's current pool and wait for it
#: (the sub-job succeeds or fails), wait on an earlier job that is not a dependency, or take a
#: little while (up to 10 ms) so that operations overlap running jobs.
BEHAVIOURS = ("ok", "fail", "sub_ok", "sub_fail", "wait", "slow")


@dataclasses.dataclass(frozen=True)
class JobSpec:
    index: int
    pool: int
    deps: tuple[int, ...]  # indices of earlier jobs
    behaviour: str
    wait_target: int | None  # for "wait": an earlier job's index
    ignore_failures: bool
    task: int

    @property
    def name(self) -> str:
        return f"j{self.index}"

    def __str__(self) -> str:
        extra = f" waits j{self.wait_target}" if self.wait_target is not None else ""
        policy = " ignore" if self.ignore_failures else ""
        return (f"j{self.index}(pool {self.pool}, task {self.task}, deps "
                f"{[f'j{d}' for d in self.deps]}, {self.behaviour}{extra}{policy})")


class Trace:
    """What job functions saw, appended under one lock; ``violations`` collects broken
    invariants (a job function must not raise for the harness, it would change the outcome)."""

    def __init__(self, peak_max_threads: list[int]) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, int] = {}  # job name -> times its function was entered
        self.running: dict[str, int] = {}  # job name -> execution pool, while in its function
        self.has_waited: set[str] = set()  # running jobs that began a wait
        self.sub_outcomes: dict[str, str] = {}  # parent name -> "ok" | "failed" | "timeout"
        self.inner_waits: list[tuple[str, str, str]] = []  # (waiter, waited, outcome)
        self.violations: list[str] = []
        #: Per pool: the highest thread limit it had during the run (raised before the call).
        self.peak_max_threads = peak_max_threads

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def enter(self, job, ignore_failures: bool) -> None:
        """At the start of a job function: it runs once, after its dependencies finished (OK
        unless its policy ignores failures), and its pool runs no more jobs than its limit
        allows (jobs that began a wait do not count: their stand-ins may run meanwhile)."""
        pool = job.execution_pool_id
        bad = []
        for dep in job.dependencies:
            status = dep.status
            if status == LoadStatus.PENDING or (status != LoadStatus.OK and not ignore_failures):
                bad.append(f"{dep.name}={status.name}")
        with self.lock:
            count = self.started.get(job.name, 0) + 1
            self.started[job.name] = count
            if count > 1:
                self.violations.append(f"{job.name} ran {count} times")
            if bad:
                self.violations.append(f"{job.name} started with dependencies {bad}")
            self.running[job.name] = pool
            busy = sum(1 for name, p in self.running.items()
                       if p == pool and name not in self.has_waited)
            if busy > self.peak_max_threads[pool]:
                self.violations.append(
                    f"{job.name} started as job {busy} of pool {pool} that never waited, "
                    f"above its peak thread limit {self.peak_max_threads[pool]}")

    def exit(self, job) -> None:
        with self.lock:
            self.running.pop(job.name, None)
            self.has_waited.discard(job.name)

    def begin_wait(self, job) -> None:
        with self.lock:
            self.has_waited.add(job.name)

    def raise_limit(self, pool: int, value: int) -> None:
        with self.lock:
            self.peak_max_threads[pool] = max(self.peak_max_threads[pool], value)


def _us(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1_000_000)


@dataclasses.dataclass
class Observed:
    """A job's final state, read once everything settled."""

    name: str
    job_id: int
    status: LoadStatus
    message: str | None
    start_us: int | None
    finish_us: int | None
    execution_pool: int | None

    @classmethod
    def of(cls, job) -> Observed:
        error = job.exception
        return cls(job.name, job.job_id, job.status,
                   getattr(error, "message", None if error is None else str(error)),
                   _us(job.start_time), _us(job.finish_time), job.execution_pool_id)


def expected_outcomes(specs: Sequence[JobSpec], observed: dict[str, Observed],
                      trace: Trace, removed_tasks: set[int]) -> list[str]:
    """Check every job's final state against the model; return the mismatches.

    The model's inputs are the interleaving's choices: which jobs were scheduled (job_id),
    which were canceled by a removal (their message), and how each sub-job wait ended.
    """
    problems: list[str] = []
    status: dict[int, LoadStatus] = {}
    for spec in specs:  # dependencies have lower indices: this is a topological order
        seen = observed[spec.name]
        ran = trace.started.get(spec.name, 0) > 0
        status[spec.index] = seen.status
        if seen.job_id == 0:
            if seen.status != LoadStatus.PENDING or ran:
                problems.append(f"{spec.name} unscheduled but {seen.status.name}, ran={ran}")
            continue
        for d in spec.deps:
            if observed[specs[d].name].job_id == 0:
                problems.append(f"{spec.name} scheduled without its dependency j{d}")
        if seen.message == f"Load job '{spec.name}' canceled":
            if spec.task not in removed_tasks:
                problems.append(f"{spec.name} canceled by a removal of task {spec.task}, "
                                "which nobody removed")
            if ran or seen.status != LoadStatus.CANCELED:
                problems.append(f"{spec.name} canceled by removal but {seen.status.name}, "
                                f"ran={ran}")
            continue
        failed = [d for d in spec.deps if status[d] != LoadStatus.OK]
        if failed and not spec.ignore_failures:
            if seen.status != LoadStatus.CANCELED or ran:
                problems.append(f"{spec.name}: dependencies {failed} failed, expected CANCELED "
                                f"without running, got {seen.status.name}, ran={ran}")
            elif not (seen.message or "").startswith(f"Load job '{spec.name}' -> "):
                problems.append(f"{spec.name}: cancel message {seen.message!r}")
            continue
        if not ran:
            problems.append(f"{spec.name} must have run (dependencies done, not removed) but "
                            f"is {seen.status.name}: {seen.message}")
            continue
        expected = _behaviour_status(spec, trace)
        if seen.status != expected:
            problems.append(f"{spec.name} ({spec.behaviour}) ran and ended {seen.status.name}, "
                            f"expected {expected.name}: {seen.message}")
        if expected == LoadStatus.FAILED and not (seen.message or "").startswith(
                f"Load job '{spec.name}' failed: "):
            problems.append(f"{spec.name}: failure message {seen.message!r}")
    return problems


def _behaviour_status(spec: JobSpec, trace: Trace) -> LoadStatus:
    if spec.behaviour == "fail":
        return LoadStatus.FAILED
    if spec.behaviour in ("sub_ok", "sub_fail"):
        outcome = trace.sub_outcomes.get(spec.name)
        return LoadStatus.OK if outcome == "ok" else LoadStatus.FAILED
    return LoadStatus.OK


def priority_gate_violations(runs: list[tuple[str, int, int, int]]) -> list[str]:
    """``runs``: (name, execution priority, start us, finish us) of every job that ran.

    No job may start while a job of a strictly more urgent execution priority executes: the
    more urgent pool has a worker then, so the current priority is at least that urgent and no
    less urgent worker may take a job.  (The documented overlap is the other way round: a less
    urgent job started earlier runs on while a boosted one starts.)  Both instants are taken
    under the loader lock; equal microseconds are not ordered, so they are not judged.
    """
    problems = []
    for name, prio, start, _ in runs:
        for other, other_prio, other_start, other_finish in runs:
            if other_prio < prio and other_start < start < other_finish:
                problems.append(f"{name} (priority {prio}) started at {start} while {other} "
                                f"(priority {other_prio}) ran {other_start}..{other_finish}")
    return problems


def snapshot_violations(table: pa.Table, pool_names: Sequence[str],
                        priorities: Sequence[int]) -> list[str]:
    """Every row of a snapshot is self-consistent, and the rows agree with each other."""
    rows = table.to_pylist()
    problems: list[str] = []
    by_id = {}
    for row in rows:
        if row["job_id"] in by_id:
            problems.append(f"job_id {row['job_id']} twice")
        by_id[row["job_id"]] = row
    keys = [(r["job"], r["job_id"]) for r in rows]
    if keys != sorted(keys):
        problems.append("rows not ordered by (job, job_id)")
    for row in rows:
        name, states = row["job"], (row["is_executing"], row["is_blocked"], row["is_ready"])
        where = f"row {name} #{row['job_id']}"
        if row["status"] == "PENDING":
            if sum(states) != 1:
                problems.append(f"{where}: pending with states {states}")
            if row["finish_time"] is not None or row["exception"] is not None:
                problems.append(f"{where}: pending with a finish time or exception")
            if bool(row["is_blocked"]) != (row["dependencies_left"] > 0):
                problems.append(f"{where}: is_blocked={row['is_blocked']} but "
                                f"dependencies_left={row['dependencies_left']}")
            if bool(row["is_ready"]) != (row["ready_seqno"] is not None):
                problems.append(f"{where}: is_ready={row['is_ready']}, seqno "
                                f"{row['ready_seqno']}")
            if row["is_ready"] and row["enqueue_time"] is None:
                problems.append(f"{where}: ready without an enqueue time")
            if bool(row["is_executing"]) != (row["start_time"] is not None):
                problems.append(f"{where}: is_executing={row['is_executing']}, start "
                                f"{row['start_time']}")
            pending_deps = sum(1 for d in row["dependencies"]
                               if d in by_id and by_id[d]["status"] == "PENDING")
            if pending_deps != row["dependencies_left"]:
                problems.append(f"{where}: dependencies_left={row['dependencies_left']} but "
                                f"{pending_deps} dependencies are pending")
            for d in row["dependencies"]:
                dep = by_id.get(d)
                if dep is not None and dep["status"] == "PENDING" and \
                        dep["priority"] > row["priority"]:
                    problems.append(f"{where}: pending dependency #{d} is less urgent "
                                    f"({dep['priority']} > {row['priority']})")
        else:
            if any(states) or row["dependencies_left"] or row["ready_seqno"] is not None:
                problems.append(f"{where}: finished with states {states}, left "
                                f"{row['dependencies_left']}, seqno {row['ready_seqno']}")
            if row["finish_time"] is None:
                problems.append(f"{where}: finished without a finish time")
            if (row["exception"] is None) != (row["status"] == "OK"):
                problems.append(f"{where}: {row['status']} with exception {row['exception']!r}")
        if (row["elapsed"] == 0) != (row["start_time"] is None):
            problems.append(f"{where}: elapsed {row['elapsed']} but start {row['start_time']}")
        times = [row[c] for c in ("schedule_time", "enqueue_time", "start_time", "finish_time")
                 if row[c] is not None]
        if times != sorted(times):
            problems.append(f"{where}: times out of order {times}")
        if row["status"] in ("OK", "FAILED") and row["start_time"] is None:
            problems.append(f"{where}: {row['status']} but never started")
        for prefix in ("", "execution_"):
            pool = row[f"{prefix}pool_id"]
            if row[f"{prefix}pool"] != pool_names[pool] or \
                    row[f"{prefix}priority"] != priorities[pool]:
                problems.append(f"{where}: {prefix}pool {pool} named {row[f'{prefix}pool']}")
        if row["priority"] > row["execution_priority"]:
            problems.append(f"{where}: current pool less urgent than its execution pool")
        if row["dependencies_left"] > len(row["dependencies"]):
            problems.append(f"{where}: more dependencies left than it has")
    return problems


def pools_violations(table: pa.Table) -> list[str]:
    """Counts a pools snapshot must satisfy whatever the limits did meanwhile (a cut is lazy,
    and a resumed waiter's stand-in runs on: the thread limit is checked by ``Trace.enter``)."""
    problems = []
    for row in table.to_pylist():
        if row["executing_jobs"] > row["workers"]:
            problems.append(f"pool {row['pool']}: {row['executing_jobs']} executing with "
                            f"{row['workers']} workers")
        if row["suspended_workers"] > row["executing_jobs"]:
            problems.append(f"pool {row['pool']}: more suspended workers than executing jobs")
    return problems

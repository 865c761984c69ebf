"""Bytecodes executed per job by ``schedule()`` and by a worker: ``python -m benchmarks.opcodes``.

CPython's opcode tracer counts every bytecode the loader's own functions execute for a
5,000-job random DAG (2 edges per job), once while scheduling it and once while one worker
runs it.  Wall times vary by 30% from run to run on these machines; these counts do not, so
they show what a change to a hot path really saved.
"""

from __future__ import annotations

import collections
import sys
import threading

from loader import AsyncLoader, Pool

from .bench_dag import build_jobs
from .graphs import random_dag

JOBS = 5_000


def count(action) -> collections.Counter[str]:
    """Bytecodes executed inside each function of the ``loader`` package during ``action``."""
    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame, event, arg):
        if "/loader/" not in frame.f_code.co_filename:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts[frame.f_code.co_name] += 1
        return tracer

    sys.settrace(tracer)
    threading.settrace(tracer)
    try:
        action()
    finally:
        sys.settrace(None)
        threading.settrace(None)
    return counts


def _worker_counts(journal: bool) -> tuple[collections.Counter[str], collections.Counter[str]]:
    jobs = build_jobs(random_dag(JOBS))
    loader = AsyncLoader([Pool("p", 1)], paused=True)
    if journal:  # recording every start and finish, as record_history does
        loader.open_journal()
    scheduled = count(lambda: loader.schedule(jobs))

    def run() -> None:
        loader.unpause()
        loader.wait_all()

    ran = count(run)
    loader.shutdown()
    return scheduled, ran


def main() -> int:
    scheduled, ran = _worker_counts(journal=False)
    _, journaled = _worker_counts(journal=True)
    for what, counts in (("schedule()", scheduled), ("worker", ran),
                         ("worker, one journal open", journaled)):
        print(f"{what}: {sum(counts.values()) / JOBS:.0f} bytecodes per job")
        for name, n in counts.most_common(6):
            print(f"  {n / JOBS:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

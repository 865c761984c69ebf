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


def main() -> int:
    jobs = build_jobs(random_dag(JOBS))
    loader = AsyncLoader([Pool("p", 1)], paused=True)
    scheduled = count(lambda: loader.schedule(jobs))

    def run() -> None:
        loader.unpause()
        loader.wait_all()

    ran = count(run)
    loader.shutdown()
    for what, counts in (("schedule()", scheduled), ("worker", ran)):
        print(f"{what}: {sum(counts.values()) / JOBS:.0f} bytecodes per job")
        for name, n in counts.most_common(6):
            print(f"  {n / JOBS:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

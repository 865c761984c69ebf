"""A process that records a busy loader until it is killed (run by test_crash.py).

It flushes every ``flush_interval`` seconds, merges after every two segments and runs an
archiving retention pass every few flushes, so a SIGKILL at a random moment has every kind of
write in flight to land in.  After each batch of finished jobs it prints their ids and the
time it saw them finished, so the parent knows which jobs had finished before the last flush.
"""

from __future__ import annotations

import logging
import sys
import time

from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.history import record_history
from sqlbridge.history.retention import Retention


def work(loader, job):
    if job.job_id % 7 == 0:
        logging.getLogger("child").warning("job %d is unlucky", job.job_id)
    if job.job_id % 11 == 0:
        raise ValueError(f"job {job.job_id} failed")
    return {"n": job.job_id}


def main() -> None:
    path, flush_interval = sys.argv[1], float(sys.argv[2])
    loader = AsyncLoader([Pool("default", 2)])
    rec = record_history(loader, path, flush_interval=flush_interval, merge_fanout=2,
                         retention=Retention(max_rows=20_000, archive=True,
                                             interval=flush_interval * 5))
    print("instance", rec.instance, flush=True)
    batch = 0
    while True:
        jobs = [LoadJob(work, name=f"b{batch}-{i}", tags={"batch": str(batch)})
                for i in range(200)]
        loader.schedule(jobs)
        loader.wait_all(timeout=60)
        print("finished", time.time(), " ".join(str(j.job_id) for j in jobs), flush=True)
        batch += 1


if __name__ == "__main__":
    main()

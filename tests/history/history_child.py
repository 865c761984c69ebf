"""A process that records a real loader into a history, for the reader's cross-process tests.

``python history_child.py PATH MODE``:

* ``scenario``: a parent job with tags, two generations of sub-jobs and log lines; a failure
  and the job it cancels; then a job that never returns.  Once that job's start is flushed it
  prints ``ready`` and waits to be killed (the history then holds an interrupted job).
* ``restart``: a few jobs recorded into the same history, then a clean close (a restart).
* ``stream``: jobs keep running (a wave of short jobs after another, always some executing)
  until stdin closes; prints ``ready`` after the first flush.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.history import record_history

log = logging.getLogger("app")
TIMEOUT = 60.0


def noop(loader, job):
    return None


def scenario(path: str) -> None:
    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    started = threading.Event()

    def grandchild(loader, job):
        log.info("grandchild working")

    def child(loader, job):
        log.info("child of %s", job.name)
        loader.schedule([LoadJob(grandchild, name="load part db.hits.p1")])

    def parent(loader, job):
        log.info("loading %s", "db.hits")
        log.warning("slow disk")
        loader.schedule([LoadJob(child, name="load part db.hits.all", tags={"table": "db.hits"})])
        return {"rows": 3}

    def failing(loader, job):
        raise OSError("disk error on db.broken")

    def stuck(loader, job):
        started.set()
        threading.Event().wait()

    rec = record_history(loader, path, flush_interval=0.05)
    broken = LoadJob(failing, name="load table db.broken", tags={"table": "db.broken"})
    loader.schedule([
        LoadJob(parent, name="load table db.hits", tags={"table": "db.hits", "by": "alice"}),
        broken, LoadJob(noop, name="startup table db.broken", dependencies=[broken]),
        LoadJob(noop, name="load table db.small")])
    loader.wait_all(timeout=TIMEOUT)
    loader.wait_all(timeout=TIMEOUT)  # the sub-jobs scheduled by the first wave
    loader.schedule([LoadJob(stuck, name="load table db.stuck")])
    started.wait(TIMEOUT)
    rec.flush()
    print("ready", rec.instance, flush=True)
    sys.stdin.read()


def restart(path: str) -> None:
    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    with record_history(loader, path, flush_interval=0.05) as rec:
        loader.schedule([LoadJob(noop, name=f"load table db.again{i}") for i in range(3)])
        loader.wait_all(timeout=TIMEOUT)
    loader.shutdown()
    print("done", rec.instance, flush=True)


def stream(path: str) -> None:
    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    stop = threading.Event()

    def work(loader, job):
        time.sleep(0.002)

    first_wave = threading.Event()

    def feed() -> None:
        wave = 0
        while not stop.is_set():
            loader.schedule([LoadJob(work, name=f"load table db.w{wave}_{i}") for i in range(50)])
            loader.wait_all(timeout=TIMEOUT)
            first_wave.set()
            wave += 1

    rec = record_history(loader, path, flush_interval=0.1)
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    first_wave.wait(TIMEOUT)
    rec.flush()  # the readers start from a history that has rows
    print("ready", rec.instance, flush=True)
    sys.stdin.read()
    stop.set()
    feeder.join(TIMEOUT)
    rec.close()
    loader.shutdown()


if __name__ == "__main__":
    logging.getLogger("app").setLevel(logging.INFO)
    {"scenario": scenario, "restart": restart, "stream": stream}[sys.argv[2]](sys.argv[1])

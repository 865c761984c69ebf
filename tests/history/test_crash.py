"""SIGKILL at random moments: the history stays readable, nothing flushed is lost, and the
next process appends.  Real processes, real kills, real loader."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from history_testkit import rows, wait_until

from sqlbridge.history.schema import visible_segments

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]
KILLS = 10
FLUSH = 0.02


def start_child(path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, str(CHILD), str(path), str(FLUSH)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def read_line(proc: subprocess.Popen, timeout: float = 30.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the child said nothing for {timeout}s: {proc.stderr.read()!r}"
    line = proc.stdout.readline()
    assert line, f"the child exited: {proc.stderr.read()!r}"
    return line


def every_file_reads(path: Path) -> None:
    """Each Parquet file of every table reads whole with pyarrow and with DuckDB."""
    con = duckdb.connect()
    try:
        for sub in ("log", "text_log", "processes", "archive/log", "retention"):
            d = path / sub
            for name in os.listdir(d):
                p = d / name
                assert name.endswith(".parquet"), f"stray file {p} outside .tmp/"
                pq.read_table(p)
                con.execute("SELECT count(*) FROM read_parquet(?)", [str(p)]).fetchall()
    finally:
        con.close()


def finished_jobs(path: Path, instance: str) -> set[int]:
    return {r["job_id"] for r in rows(path, "log", "job_id",
                                      f"type = 'JobFinish' AND loader_instance = '{instance}'")}


def test_random_sigkills_never_leave_an_unreadable_history_or_lose_a_flushed_job(tmp_path):
    path = tmp_path / "h"
    rng = random.Random(20261202)
    instances = []
    for _ in range(KILLS):
        proc = start_child(path)
        try:
            words = read_line(proc).split()
            assert words[0] == "instance"
            instances.append(words[1])
            read_line(proc)  # one batch finished: flushes, merges and retention are running
            time.sleep(rng.uniform(0.0, 0.25))  # the random moment of the kill
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        every_file_reads(path)

        # Every job the child saw finished before its last flush began is in the log
        # (or was archived by retention): a kill loses at most the last flush interval.
        heartbeat = [r["heartbeat"].timestamp() for r in rows(path, "processes")
                     if r["loader_instance"] == instances[-1]][0]
        reported = set()
        for line in out.splitlines():
            words = line.split()
            if words and words[0] == "finished" and float(words[1]) < heartbeat:
                reported.update(int(w) for w in words[2:])
        stored = finished_jobs(path, instances[-1])
        archived = {r["job_id"] for r in rows(
            path, "archive/log", "job_id",
            f"type = 'JobFinish' AND loader_instance = '{instances[-1]}'")}
        assert reported <= stored | archived, sorted(reported - stored - archived)[:10]

    # A new process appends to the same history, under a new instance id.
    proc = start_child(path)
    try:
        last = read_line(proc).split()[1]
        wait_until(lambda: finished_jobs(path, last), what="the new process's first flush")
    finally:
        proc.kill()
        proc.wait()
    assert last not in instances
    instances.append(last)
    every_file_reads(path)
    processes = {r["loader_instance"] for r in rows(path, "processes")}
    assert processes == set(instances)
    logged = {r["loader_instance"] for sub in ("log", "archive/log")
              for r in rows(path, sub, "DISTINCT loader_instance")}
    wrote = {r["loader_instance"] for r in rows(path, "processes") if r["events_written"]}
    assert last in logged and wrote <= logged
    # Segments a kill left covered by a merged one are ignored by readers.
    for sub in ("log", "text_log"):
        names = os.listdir(path / sub)
        assert len(visible_segments(names)) <= len(names)

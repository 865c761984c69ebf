"""Two real processes: one records a loader whose jobs keep executing, the other reads the
history meanwhile with ``asl sql --history`` (and a long-lived session polling far faster than
the writer flushes and merges), and sees the rows grow, never an error.

The writer flushes every 0.1 s and merges its segments as it goes, so the readers keep meeting
merges half done (the merged file renamed in, its inputs not yet deleted, or deleted after the
listing): the covered-segment rule and the retry on a vanished file are what keep them right.
"""

from __future__ import annotations

import warnings

from reader_testkit import SUBPROCESS_TIMEOUT, requires_journal, run_asl, spawn_child

import sqlbridge
from sqlbridge.history.source import HistorySource

COUNT = "SELECT count() FROM system.asynchronous_loader_log"

pytestmark = requires_journal


def test_asl_sql_reads_a_history_while_another_process_writes_it(tmp_path) -> None:
    path = tmp_path / "history"
    writer, instance = spawn_child(path, "stream")
    try:
        cli_counts = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a corrupt or half-read file would warn
            with sqlbridge.connect(HistorySource(path)) as db:
                polled = []
                for _ in range(2):
                    done = run_asl("sql", "--history", str(path), COUNT)
                    assert done.returncode == 0 and done.stderr == "", done.stderr
                    cli_counts.append(int(done.stdout))
                    for _ in range(10):
                        polled.append(db.query(COUNT).column(0)[0].as_py())
                        ids = db.query("SELECT count() AS n, uniqExact(job_id, type) AS u "
                                       "FROM system.asynchronous_loader_log").to_pylist()[0]
                        assert ids["n"] == ids["u"]  # no row counted twice
                alive = db.query("SELECT is_alive FROM system.asynchronous_loader_processes "
                                 f"WHERE loader_instance = '{instance}'").to_pylist()
        assert cli_counts == sorted(cli_counts) and cli_counts[-1] > cli_counts[0] > 0
        assert polled == sorted(polled) and polled[-1] > polled[0]
        assert alive == [{"is_alive": 1}]
    finally:
        writer.communicate(timeout=SUBPROCESS_TIMEOUT)
    done = run_asl("sql", "--history", str(path), "--format", "TSV",
                   "SELECT is_alive, end_reason FROM system.asynchronous_loader_processes")
    assert done.stdout == "0\tclosed\n", done.stderr

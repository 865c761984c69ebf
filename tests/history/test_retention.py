"""Retention by age and by rows, in batches, with the archive; unfinished jobs always stay."""

from __future__ import annotations

import logging
import time

import pyarrow.parquet as pq
from history_testkit import files, query, rows

from loader import LoadJob
from sqlbridge.history import record_history
from sqlbridge.history.retention import Retention, apply_retention
from sqlbridge.history.schema import LOG_SCHEMA

SLOW = 3600.0


def noop(loader, job):
    logging.getLogger("app").warning("inside %s", job.name)


def record(fake, history, names, *, unfinished=(), **options):
    """Record finished jobs ``names`` (one flush each) and start-only jobs ``unfinished``."""
    rec = record_history(fake, history, flush_interval=SLOW, **options)
    for name in names:
        job = LoadJob(noop, name=name)
        fake.loader.schedule([job])
        fake.loader.wait_all(timeout=30)
        fake.emit([job])
        rec.flush()
    for name in unfinished:
        job = LoadJob(noop, name=name)
        fake.loader.schedule([job])
        fake.loader.wait_all(timeout=30)
        fake.emit([job], finishes=False)  # as if it were still running
        rec.flush()
    return rec


def test_by_age_deletes_finished_jobs_whole_and_keeps_unfinished_ones(fake, history):
    rec = record(fake, history, ["a", "b"], unfinished=["running"])
    later = time.time() + 3600  # everything finished an hour "ago"
    report = apply_retention(history, max_age=60, now=later, instance=rec.instance)
    assert report.rows_deleted == 4 and report.unfinished_jobs_kept == 1
    assert query(history, "log", "SELECT job, type FROM t") == [("running", "JobStart")]
    # The text log of the deleted jobs goes too; the unfinished job's lines stay.
    assert [r["job"] for r in rows(history, "text_log")] == ["running"]
    rec.close()


def test_by_age_keeps_what_is_younger(fake, history):
    with record(fake, history, ["a"]) as rec:
        report = rec.apply_retention(Retention(max_age=3600))
    assert report.rows_deleted == 0
    assert query(history, "log", "SELECT count(*) FROM t") == [(2,)]


def test_by_rows_deletes_the_oldest_finished_jobs_first(fake, history):
    with record(fake, history, [f"j{i}" for i in range(6)], unfinished=["open"]) as rec:
        report = rec.apply_retention(Retention(max_rows=5))
    # 13 rows; the oldest finished jobs go (2 rows each) until at most 5 are left.
    assert report.rows_deleted == 8 and report.rows_remaining == 5
    assert sorted(query(history, "log", "SELECT DISTINCT job FROM t")) == [
        ("j4",), ("j5",), ("open",)]


def test_unfinished_jobs_are_kept_even_beyond_max_rows(fake, history):
    with record(fake, history, [], unfinished=["u1", "u2", "u3"]) as rec:
        report = rec.apply_retention(Retention(max_rows=0, max_age=0))
    assert report.rows_deleted == 0 and report.unfinished_jobs_kept == 3
    assert query(history, "log", "SELECT count(*) FROM t") == [(3,)]


def test_archive_moves_the_deleted_rows_to_the_archive_table(fake, history):
    with record(fake, history, ["old1", "old2", "new"]) as rec:
        report = rec.apply_retention(Retention(max_rows=2, archive=True))
        report2 = rec.apply_retention(Retention(max_rows=0, archive=True))
    assert report.rows_archived == 4 and report2.rows_archived == 2
    archived = query(history, "archive/log", "SELECT job, type FROM t ORDER BY job, type")
    assert archived == [("new", "JobFinish"), ("new", "JobStart"), ("old1", "JobFinish"),
                        ("old1", "JobStart"), ("old2", "JobFinish"), ("old2", "JobStart")]
    assert files(history, "log") == []
    for p in files(history, "archive/log"):
        assert pq.read_schema(p).names == LOG_SCHEMA.names


def test_the_last_run_is_recorded_per_instance(fake, history):
    with record(fake, history, ["a", "b"]) as rec:
        rec.apply_retention(Retention(max_rows=2))
    got = rows(history, "retention")
    assert len(got) == 1
    r = got[0]
    assert r["loader_instance"] == rec.instance and r["max_rows"] == 2
    assert r["rows_deleted"] == 2 and r["rows_remaining"] == 2 and r["error"] is None
    assert r["segments_rewritten"] >= 1 and r["archive"] == 0


def test_a_recorder_applies_its_policy_periodically(fake, history):
    policy = Retention(max_rows=2, interval=0.0)
    with record(fake, history, ["a", "b", "c"], retention=policy):
        pass
    assert query(history, "log", "SELECT count(*) FROM t") == [(2,)]
    assert len(rows(history, "retention")) == 1


def test_segments_of_another_live_recording_are_left_alone(fake, history):
    other = record(fake, history, ["theirs"])
    try:
        report = apply_retention(history, max_rows=0)
        assert report.rows_deleted == 0
        assert query(history, "log", "SELECT count(*) FROM t") == [(2,)]
    finally:
        other.close()
    # Once that process has ended, an offline run trims it.
    report = apply_retention(history, max_rows=0)
    assert report.rows_deleted == 2


def test_a_corrupt_segment_is_skipped_and_named_while_the_rest_is_trimmed(fake, history, caplog):
    with record(fake, history, ["a", "b"]) as rec:
        bad = history / "log" / f"{'0' * 32}-0000000001-0000000001.parquet"
        bad.write_bytes(b"PAR1 this is not parquet")
        with caplog.at_level(logging.WARNING, logger="sqlbridge.history.retention"):
            report = rec.apply_retention(Retention(max_rows=0))
    assert report.skipped_segments == 1 and report.rows_deleted == 4
    assert bad.name in caplog.text
    assert bad.exists()  # left for an operator to look at, never deleted blindly


def test_a_negative_policy_is_refused_at_once():
    import pytest

    for bad in ({"max_age": -1}, {"max_rows": -5}, {"interval": -1.0}):
        with pytest.raises(ValueError, match="must be >= 0"):
            Retention(**bad)


def test_a_dead_process_whose_pid_was_reused_is_trimmed_like_any_dead_one(fake, history):
    import datetime as dt
    import os
    import uuid

    import pyarrow as pa

    rec = record(fake, history, ["a", "b"])
    rec.close()
    # Its processes row says "still recording", with a pid that exists now but started long
    # after it (another process took the pid): the readers count it dead, so must retention.
    path = history / "processes" / f"{rec.instance}.parquet"
    row = pq.read_table(path)
    started = pa.array([dt.datetime(2000, 1, 1, tzinfo=dt.UTC)], row.schema.field("started").type)
    row = row.set_column(row.schema.get_field_index("started"), "started", started)
    row = row.set_column(row.schema.get_field_index("pid"), "pid",
                         pa.array([os.getpid()], row.schema.field("pid").type))
    row = row.set_column(row.schema.get_field_index("ended"), "ended",
                         pa.nulls(1, row.schema.field("ended").type))
    pq.write_table(row, path)
    assert query(history, "processes", "SELECT count(*) FROM t WHERE ended IS NULL") == [(1,)]
    report = apply_retention(history, max_age=60, now=time.time() + 3600,
                             instance=uuid.uuid4().hex)
    assert report.rows_deleted == 4
    assert rows(history, "log") == []


def test_retention_refuses_a_history_of_a_newer_or_foreign_schema_in_one_line(tmp_path):
    import json

    import pytest

    from sqlbridge.history.schema import NewerHistoryVersion, NotAHistory

    root = tmp_path / "h"
    root.mkdir()
    marker = root / "asl-history.json"
    for version, error, words in [(99, NewerHistoryVersion, "upgrade asl to trim it"),
                                  ("2", NotAHistory, "no integer schema_version")]:
        marker.write_text(json.dumps({"format": "asl-history", "schema_version": version}))
        with pytest.raises(error, match=words) as e:
            apply_retention(root, max_age=60)
        assert "\n" not in str(e.value)

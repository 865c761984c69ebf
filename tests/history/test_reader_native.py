"""How a session reads a history's files: DuckDB's own Parquet reader where the session admits
the history's directories, pyarrow datasets elsewhere, the same rows either way; the
JobInterrupted rows derived only for a statement that can see them; and user SQL still never
names a file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from reader_testkit import (
    INSTANCE_A,
    INSTANCE_B,
    T0,
    job_rows,
    make_history,
    text_row,
    write_process,
    write_segment,
    write_text_segment,
)

import sqlbridge
from sqlbridge.errors import Readonly
from sqlbridge.history import live
from sqlbridge.history.live import SessionHistory
from sqlbridge.history.source import HistorySource
from sqlbridge.history.tables import TABLES, create_types, raw_name


def _history(tmp_path: Path) -> Path:
    """Two stopped runs, each with a finished, a failed and an unfinished job, and log lines."""
    root = make_history(tmp_path / "h")
    for n, instance in enumerate((INSTANCE_A, INSTANCE_B)):
        write_segment(root, job_rows(1, instance=instance) + job_rows(2, instance=instance),
                      1, 1, instance=instance)
        write_segment(root, job_rows(3, instance=instance, finished=False), 2, 2,
                      instance=instance)
        write_text_segment(root, [text_row(1, f"run {n}", instance=instance)], 1, 1,
                           instance=instance)
        write_process(root, instance=instance, heartbeat=T0 + dt.timedelta(seconds=5 + n))
    return root


def _connection(*, files_allowed: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TYPE asl_status AS ENUM ('PENDING', 'OK', 'FAILED', 'CANCELED')")
    create_types(con)
    if not files_allowed:
        con.execute("SET enable_external_access = false")
    return con


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    out = {}
    for name in TABLES:
        relation = con.sql(f'SELECT * FROM "{raw_name(name)}"')
        out[name] = sorted(map(repr, relation.fetchall())) + [repr(relation.types)]
    return out


def test_duckdbs_reader_and_pyarrows_give_the_same_rows_and_types(tmp_path: Path) -> None:
    source = HistorySource(_history(tmp_path))
    native, fallback = _connection(files_allowed=True), _connection(files_allowed=False)
    assert SessionHistory(source).begin(native) and SessionHistory(source).begin(fallback)
    plan = native.sql(f"EXPLAIN SELECT * FROM {raw_name('asynchronous_loader_log')}").fetchall()
    assert "read_parquet" in plan[0][1].lower()
    got, want = _contents(native), _contents(fallback)
    assert got == want
    assert sum("JobInterrupted" in row for row in got["asynchronous_loader_log"]) == 2


def test_interrupted_rows_are_derived_only_for_a_statement_that_can_see_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    derive = live.interrupted_rows
    monkeypatch.setattr(live, "interrupted_rows", lambda wanted: calls.append(1) or derive(wanted))
    with sqlbridge.connect(HistorySource(_history(tmp_path))) as db:
        finished = db.run("SELECT count() FROM system.asynchronous_loader_log "
                          "WHERE type = 'JobFinish'")
        assert (finished, calls) == ("4\n", [])
        assert db.run("SELECT type, count() FROM system.asynchronous_loader_log "
                      "GROUP BY type ORDER BY type") == (
            "JobStart\t6\nJobFinish\t4\nJobInterrupted\t2\n")
        assert calls == [1]


def test_a_history_session_still_refuses_to_name_the_historys_files(tmp_path: Path) -> None:
    root = _history(tmp_path)
    segment = next((root / "log").glob("*.parquet"))
    with sqlbridge.connect(HistorySource(root)) as db:
        for sql in (f"SELECT count() FROM '{segment}'", f'SELECT count() FROM "{segment}"',
                    f"SELECT * FROM read_parquet('{segment}')",
                    f"SELECT * FROM file('{segment}', Parquet)", "SELECT * FROM 'log/x.parquet'"):
            with pytest.raises(Readonly):
                db.run(sql)
        assert db.run("SELECT count() FROM system.asynchronous_loader_log") == "12\n"

"""Helpers for the history tests: reading a history back with DuckDB, bounded waits."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from loader import AsyncLoader, Pool
from sqlbridge.history.schema import visible_segments

TIMEOUT = 30.0


def make_real_loader(threads: int = 2) -> AsyncLoader:
    return AsyncLoader([Pool("default", threads)])


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.002)


def files(root: Path, table_dir: str) -> list[str]:
    """The visible segments (or per-instance files) of one table directory."""
    d = root / table_dir
    if not d.is_dir():
        return []
    names = sorted(os.listdir(d))
    if table_dir in ("processes", "retention"):
        return [str(d / n) for n in names if n.endswith(".parquet")]
    return [str(d / n) for n in visible_segments(names)]


def query(root: Path, table_dir: str, sql: str = "SELECT * FROM t", params=None) -> list[tuple]:
    """Run ``sql`` with ``t`` bound to the table's visible files (empty: no rows)."""
    paths = files(root, table_dir)
    if not paths:
        return []
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({paths!r})")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def rows(root: Path, table_dir: str, columns: str = "*", where: str = "true") -> list[dict]:
    paths = files(root, table_dir)
    if not paths:
        return []
    con = duckdb.connect()
    try:
        rel = con.sql(f"SELECT {columns} FROM read_parquet({paths!r}) WHERE {where}")
        names = rel.columns
        return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()

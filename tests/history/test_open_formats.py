"""A history is plain Parquet: DuckDB and ClickHouse (chdb) read it without asl.

These are the README's examples ("Reading a history without asl"), run as written against a
hand-made history: the stored column names and types are the documented ones, ``type`` and
``status`` are strings, ``tags`` a map.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from reader_testkit import job_rows, make_history, write_segment


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_history(tmp_path / "history")
    write_segment(root, job_rows(1, tags=[("table", "db.hits")]) + job_rows(2), 1, 1)
    write_segment(root, job_rows(3, status="FAILED"), 2, 2)
    return root


def test_duckdb_reads_the_log_with_read_parquet(root: Path) -> None:
    rows = duckdb.sql(f"""
        SELECT status, count() AS jobs
        FROM read_parquet('{root}/log/*.parquet')
        WHERE type = 'JobFinish'
        GROUP BY status ORDER BY status
    """).fetchall()
    assert rows == [("FAILED", 1), ("OK", 2)]
    tag = duckdb.sql(f"SELECT job_id FROM read_parquet('{root}/log/*.parquet') "
                     "WHERE tags['table'] = 'db.hits' AND type = 'JobFinish'").fetchall()
    assert tag == [(1,)]


def test_clickhouse_reads_the_log_with_the_file_function(root: Path) -> None:
    chdb = pytest.importorskip("chdb")
    out = chdb.query(f"""
        SELECT status, count() AS jobs
        FROM file('{root}/log/*.parquet', Parquet)
        WHERE type = 'JobFinish'
        GROUP BY status ORDER BY status
    """, "CSV")
    assert str(out).split() == ['"FAILED",1', '"OK",2']
    tag = chdb.query(f"SELECT job_id FROM file('{root}/log/*.parquet', Parquet) "
                     "WHERE tags['table'] = 'db.hits' AND type = 'JobFinish'", "CSV")
    assert str(tag).split() == ["1"]

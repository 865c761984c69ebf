"""Whole-process figures of the ``asl`` command: start-up of ``asl --help`` and an ``asl sql``.

Peers: a bare ``python -c pass`` for start-up, and a process that only imports what
``asl sql`` must import (DuckDB, pyarrow, sqlglot) for the query.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from .common import Figure, paired_median_times

IMPORTS = "import duckdb, pyarrow, sqlglot"
QUERY = "SELECT status, count() FROM system.asynchronous_loader GROUP BY status"


def _command(*args: str):
    def run() -> None:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return run


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    asl = shutil.which("asl")
    if asl is None:  # not installed: run the module the console script points at
        base = [sys.executable, "-c", "from cli.main import main; main()"]
    else:
        base = [asl]
    bare, helped = paired_median_times(
        _command(sys.executable, "-c", "pass"), _command(*base, "--help"), repeat
    )
    imports, query = paired_median_times(
        _command(sys.executable, "-c", IMPORTS), _command(*base, "sql", "--demo", QUERY), repeat
    )
    return [
        Figure("asl --help, whole process", helped, "s", "python -c pass", bare, "<= 0.3 s",
               helped <= 0.3),
        Figure("asl sql --demo (643 jobs), whole process", query, "s",
               f"python -c '{IMPORTS}'", imports, "<= 1 s", query <= 1),
    ]

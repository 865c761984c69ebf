"""``LiveTable``: a loader table as an Arrow stream DuckDB scans, one snapshot per statement.

How the loader's state reaches DuckDB
-------------------------------------
Each system table is backed by a ``LiveTable``: an object with ``__arrow_c_stream__`` registered
*once* (DuckDB >= 1.5 scans such an object again on every query) under a connection-local name;
a catalog view over that name casts ``status`` to the ENUM. While the session runs a statement
the ``LiveTable`` is in *statement scope*: the first time DuckDB asks for the stream it calls
``loader.snapshot()`` and keeps the table, and every later request of the same statement gets
the same table. That matters: DuckDB asks 2-3 times per scan (bind, then scan), and a self-join
(blocked jobs joined to their dependencies) scans twice, so without the scope one statement
could see two different states of the loader and pay for several snapshots. Tables a statement
does not mention are never bound, so ``pool_snapshot()`` is only taken when the pools table is
queried (DuckDB's binder decides, which is exact where a text-level guess would not be).

Measured (this project's 2-core box, DuckDB 2.0, pyarrow 26, a 100k-job loader, medians of 21
runs in one process): with the snapshot taken inside the timing, re-registering a fresh
``pa.Table`` per statement and the scoped live object cost the same within noise (count over
the casting view 41.8 vs 42.4 ms; ``SELECT * LIMIT 1`` 42.3 vs 39.2; GROUP BY 55.7 vs 53.5, with
``loader.snapshot()`` itself at ~37 ms); over an already-taken snapshot the live object was
0.5-2.4 ms faster. An unscoped live object (a snapshot per stream request) was 2.5x slower
(103 ms) and inconsistent across a self-join. The scoped live object was kept: as fast, no
re-registration bookkeeping, and the same views work on ``db.duckdb``.

End to end (``db.run`` -> rendered text, each sample paired with a bare ``loader.snapshot()`` in
the same loop, 40 pairs, medians; 100k finished jobs, half of them with a dependency; load average
~3 on 2 cores): the documented query ``FORMAT Vertical LIMIT 1`` took 39.7 ms against 35.5 ms
for the snapshot alone (1.12x), ``count() ... WHERE status = 'FAILED'`` 1.23x, a GROUP BY summary
in PrettyCompact 1.31x. The snapshot is the cost; the rest (translation, sandbox check, ENUM
cast, DuckDB, types, rendering) is 4-13 ms, and translation and the sandbox verdict are cached
per query text (a statement over a 7-job loader: 0.5-4 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

__all__ = ["LiveTable"]


class LiveTable:
    """A loader table as an Arrow stream DuckDB can scan; see the module docstring."""

    def __init__(self, take: Callable[[], pa.Table]) -> None:
        self._take = take
        self._scoped = False
        self._table: pa.Table | None = None
        #: Snapshots taken (for tests and measurements).
        self.snapshots = 0

    def begin(self, table: pa.Table | None = None) -> None:
        """Start a statement; ``table`` serves it instead of a snapshot (used during setup,
        when DuckDB reads the stream only for its schema)."""
        self._scoped, self._table = True, table

    def end(self) -> None:
        self._scoped, self._table = False, None

    def current(self) -> pa.Table | None:
        return self._table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        table = self._table
        if table is None:
            table = self._take()
            self.snapshots += 1
            if self._scoped:
                self._table = table
        return table.__arrow_c_stream__(requested_schema)

"""``connect(loader)``: a read-only SQL session over a live loader, a fresh snapshot per statement.

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

Threads
-------
The session owns one DuckDB cursor (a connection of its own, sharing the catalog with
``db.duckdb``) guarded by a lock: statements from several threads run one at a time, each with
its own snapshot. DuckDB parallelises inside a query, and a statement here is milliseconds, so a
lock costs little and avoids DuckDB 2.0's "connection is busy" refusals. ``db.duckdb`` is a
different connection, so a notebook using it does not contend with the session's lock.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from sqlbridge import catalog, sandbox
from sqlbridge.duckdb_errors import from_duckdb
from sqlbridge.errors import QueryError, SessionClosed, SyntaxError_, TooDeepAst
from sqlbridge.resulttypes import decorate, type_name_macros
from sqlbridge.split import split_statements
from sqlbridge.timezone import local_time_zone
from sqlbridge.translate import DIALECTS, Translation, translate

#: ClickHouse's formatReadableTimeDelta: years of 365 days, months of 30.5, whole seconds.
_READABLE_DELTA = """
CREATE MACRO asl_format_readable_time_delta(x) AS (
    CASE WHEN x IS NULL THEN NULL ELSE
    (CASE WHEN x < 0 THEN '-' ELSE '' END) || (
        WITH a AS (SELECT CAST(floor(abs(x)) AS HUGEINT) AS a),
        y AS (SELECT a // 31536000 AS years, a % 31536000 AS r1 FROM a),
        m AS (SELECT years, r1 // 2635200 AS months, r1 % 2635200 AS r2 FROM y),
        parts AS (SELECT list_filter([
            {'n': years, 'name': 'year'}, {'n': months, 'name': 'month'},
            {'n': r2 // 86400, 'name': 'day'}, {'n': r2 % 86400 // 3600, 'name': 'hour'},
            {'n': r2 % 3600 // 60, 'name': 'minute'}, {'n': r2 % 60, 'name': 'second'}],
            lambda p: p.n <> 0) AS items FROM m)
        SELECT CASE WHEN len(items) = 0 THEN '0 seconds' ELSE
            array_to_string(list_transform(items, lambda p, i:
                CASE WHEN i = 1 THEN '' WHEN i = len(items) THEN ' and ' ELSE ', ' END
                || p.n || ' ' || p.name || CASE WHEN p.n = 1 THEN '' ELSE 's' END), '')
        END FROM parts)
    END)
"""


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


class Session:
    """A SQL session over one loader. Thread-safe; a context manager; see ``connect``."""

    def __init__(self, loader: Any, *, dialect: str = "clickhouse",
                 time_zone: str | None = None) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
        self.loader = loader
        self.dialect = dialect
        self.time_zone = time_zone or local_time_zone()
        self._lock = threading.RLock()
        self._closed = False
        self._db = duckdb.connect(":memory:")
        try:
            # GLOBAL: the session's cursor (and any other) must inherit it; a plain SET is
            # connection-local and the configuration is locked before the cursor exists.
            self._db.execute("SET GLOBAL TimeZone = ?", [self.time_zone])
        except duckdb.Error:
            self._db.close()
            # DuckDB's text ("Not implemented Error: Unknown TimeZone ... Candidate time zones:"
            # and a list of unrelated zones) is about DuckDB, not about what to type.
            raise ValueError(f"unknown time zone {self.time_zone!r}: use an IANA name such as "
                             "UTC, Europe/Berlin or America/New_York") from None
        self._parent_live = self._register(self._db)
        self._setup_catalog()
        sandbox.harden(self._db)
        self._con = self._db.cursor()
        self._live = self._register(self._con)
        #: DuckDB SQL texts the sandbox already accepted (the catalog cannot change, so the
        #: verdict stands); saved queries polled over HTTP skip two parser round trips.
        self._approved: set[str] = set()
        # Close the connections if the session is dropped unclosed (DuckDB 2.0 complains about
        # connections left open at exit); holds no reference to ``self``.
        self._finalizer = weakref.finalize(self, _close_all, self._con, self._db)

    # ------------------------------------------------------------------------- setup --

    def _register(self, con: duckdb.DuckDBPyConnection) -> dict[str, LiveTable]:
        live = {}
        for table in catalog.SYSTEM_TABLES.values():
            live[table.name] = LiveTable(self._source(table))
            live[table.name].begin(table.arrow_schema.empty_table())  # no snapshot to register
            con.register(table.raw_name, live[table.name])
            live[table.name].end()
        return live

    def _source(self, table: catalog.SystemTable) -> Callable[[], pa.Table]:
        method = getattr(self.loader, table.source_method, None)
        if method is None:
            def empty() -> pa.Table:
                return table.arrow_schema.empty_table()
            return empty
        return method

    def _setup_catalog(self) -> None:
        con = self._db
        names = ", ".join(f"'{n}'" for n in catalog.STATUS_NAMES)
        con.execute(f"CREATE TYPE {catalog.STATUS_DUCKDB_TYPE} AS ENUM ({names})")
        con.execute(f"CREATE SCHEMA {catalog.INTERNAL_SCHEMA}")
        for table in catalog.SYSTEM_TABLES.values():
            # A view binds its source at creation: give it an empty table of the right shape.
            self._parent_live[table.name].begin(table.arrow_schema.empty_table())
            con.execute(table.view_sql())
            self._parent_live[table.name].end()
            con.execute(f"COMMENT ON VIEW {table.view} IS '{_sql_str(table.description)}'")
        for name, data in catalog.static_tables().items():
            con.register("__asl_static", data)
            con.execute(f"CREATE TABLE {catalog.INTERNAL_SCHEMA}.{name} AS "
                        "SELECT * FROM __asl_static")
            con.unregister("__asl_static")
        con.execute(_READABLE_DELTA)
        for macro in type_name_macros():
            con.execute(macro)

    # ------------------------------------------------------------------------ public --

    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for tools that want one (jupysql, ad-hoc DuckDB SQL).

        ``asl_system.asynchronous_loader`` and ``asl_system.asynchronous_loader_pools`` are live
        on it (each scan takes a fresh snapshot; with no statement scope, a self-join may see
        two states). ``system.asynchronous_loader`` cannot resolve here: ``system`` is DuckDB's
        catalog and the name is rewritten only by the session. Its cursors (jupysql runs each
        statement on a new cursor) share the catalog but not the connection-local live
        objects, so they can DESCRIBE the views but not read them: use the session (or the
        ``%%asl`` magic) from notebooks. Its configuration is locked like the session's (no
        files, extensions or settings); statement kinds are not checked here, it is the
        caller's own connection.
        """
        return self._db

    def statements(self, text: str) -> list[str]:
        """The statements of a ``;``-separated script, split on tokens (not inside strings)."""
        return [p.text for p in split_statements(text, self.dialect)]

    def translate(self, sql: str, *, count_before_limit: bool = False) -> Translation:
        """What ``sql`` (one statement) becomes in DuckDB; for debugging and tests."""
        try:
            return _translate_one(sql, self.dialect, count_before_limit)
        except RecursionError:  # sqlglot parses and walks trees recursively
            raise too_deep() from None

    def query(self, sql: str) -> pa.Table:
        """Run one statement and return its result; a FORMAT clause is accepted and ignored."""
        return self._execute(self.translate(sql), sql)[0]

    def run(self, sql: str, format: str | None = None) -> str | bytes:
        """Run one statement and render it: its FORMAT clause, else ``format``, else TSV."""
        from sqlbridge.formats import canonical_format, render

        t = self.translate(sql)
        name = canonical_format(t.format or format or "TabSeparated")
        if name.startswith("JSON") and "EachRow" not in name and t.sql is not None:
            t = self.translate(sql, count_before_limit=True)
        table, stats = self._execute(t, sql)
        before = stats.pop("rows_before_limit", None)
        return render(table, name, time_zone=self.time_zone, statistics=stats,
                      rows_before_limit=before)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._finalizer()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------- execution --

    def _execute(self, t: Translation, original: str) -> tuple[pa.Table, dict[str, Any]]:
        started = time.perf_counter()
        if t.result is not None:
            return t.result, _stats(started, 0, 0)
        assert t.sql is not None
        with self._lock:
            if self._closed:
                raise SessionClosed("The session is closed; call sqlbridge.connect() again")
            for live in self._live.values():
                live.begin()
            try:
                if t.sql not in self._approved:
                    sandbox.check(self._con, t.sql)
                    if len(self._approved) > 1024:
                        self._approved.clear()
                    self._approved.add(t.sql)
                relation = self._con.sql(f"EXPLAIN {t.sql}" if t.explain else t.sql)
                if relation is None:
                    raise QueryError("The statement returned no result")
                table = relation.to_arrow_table()
                duck_types = [str(x) for x in relation.types]
                if t.explain:
                    plan = "\n".join(table.column("explain_value").to_pylist())
                    table, duck_types = pa.table({"explain": plan.split("\n")}), ["VARCHAR"]
                scanned = [live.current() for live in self._live.values()]
            except duckdb.Error as e:
                raise from_duckdb(e, sql=t.sql, original=original.strip(),
                                  position=t.position) from None
            except QueryError:
                raise
            except RecursionError:  # the sandbox reads DuckDB's (deeply nested) JSON of the AST
                raise too_deep() from None
            except Exception as e:  # a loader's snapshot() failing inside the scan, say
                raise QueryError(f"{type(e).__name__}: {e}") from e
            finally:
                for live in self._live.values():
                    live.end()
        rows = sum(s.num_rows for s in scanned if s is not None)
        nbytes = sum(s.nbytes for s in scanned if s is not None)
        stats = _stats(started, rows, nbytes)
        counter = t.rows_before_limit_column
        if counter is not None and counter in table.column_names:
            counts = table.column(counter)
            stats["rows_before_limit"] = int(counts[0].as_py()) if len(counts) else 0
            table = table.drop_columns([counter])
            duck_types = duck_types[:-1]
        if t.describe:
            table = _clickhouse_describe(table)
        table = decorate(table, duck_types, t.type_hints, booleans_as_uint8=t.booleans_as_uint8,
                         nullable=t.nullable)
        return table, stats


def _close_all(*connections: duckdb.DuckDBPyConnection) -> None:
    for con in connections:
        try:
            con.close()
        except duckdb.Error:
            pass


@functools.lru_cache(maxsize=256)
def _translate_one(sql: str, dialect: str, count_before_limit: bool) -> Translation:
    """Split check + translation, cached: the same saved query text is asked again and again.
    (A Translation is never modified after it is built, so sharing it is safe.)"""
    pieces = split_statements(sql, dialect)
    if not pieces:
        raise SyntaxError_("Empty query")
    if len(pieces) > 1:
        raise SyntaxError_("Multi-statements are not allowed (run them one by one, or "
                           "split them with Session.statements)")
    return translate(pieces[0].text, dialect, count_before_limit=count_before_limit)


def too_deep() -> TooDeepAst:
    """ClickHouse refuses an expression nested over ``max_ast_depth`` (1000) with code 167;
    here the limit is Python's recursion (a sum of ~500 terms), reached in sqlglot or in the
    sandbox's walk of DuckDB's parse tree. Nothing is left half-done: the session stays usable."""
    return TooDeepAst("AST is too deep: the expression nests too many operators or parentheses. "
                      "Maximum depth is about 500 here (ClickHouse: 1000); split it or use "
                      "arraySum([...]) for a long sum")


def _stats(started: float, rows: int, nbytes: int) -> dict[str, Any]:
    return {"elapsed": time.perf_counter() - started, "rows_read": rows, "bytes_read": nbytes}


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _clickhouse_describe(table: pa.Table) -> pa.Table:
    """DuckDB's DESCRIBE (column_name, column_type, ...) in ClickHouse's seven columns."""
    from sqlbridge.resulttypes import clickhouse_name_of_duckdb_type

    names = table.column("column_name").to_pylist()
    types = [clickhouse_name_of_duckdb_type(t) for t in table.column("column_type").to_pylist()]
    empty = [""] * len(names)
    return pa.table({"name": names, "type": types, "default_type": empty,
                     "default_expression": empty, "comment": empty,
                     "codec_expression": empty, "ttl_expression": empty})


def connect(loader: Any, *, dialect: str = "clickhouse", time_zone: str | None = None) -> Session:
    """A read-only SQL session over ``loader`` (anything with ``snapshot()`` and, for the pools
    table, ``pool_snapshot()`` returning Arrow tables with ``loader.snapshot``'s schemas)."""
    return Session(loader, dialect=dialect, time_zone=time_zone)

"""``connect(loader)``: a read-only SQL session over a live loader, a fresh snapshot per statement.

How the loader's state reaches DuckDB: ``sqlbridge.livetable`` (one ``LiveTable`` per system
table and lane, a consistent snapshot per statement, and what that costs).

One entry point
---------------
``Session.execute(sql, params=..., format=..., settings=...)`` is the path every interface takes
(``asl sql``, the ``%%asl`` magic, the HTTP endpoint): split (one statement), fill the
``{name:Type}`` parameters, translate, choose the format (the statement's ``FORMAT`` clause, else
the caller's), run under the statement's limits (``sqlbridge.limits``), and return an
``Answer``: the Arrow table, the format, the zone and the statistics; ``Answer.render()`` gives
ClickHouse's bytes. ``split(text)`` cuts a script into ``Piece`` objects that ``execute`` takes as
they are: a statement is tokenised once (by ``split``), and its tokens serve the parameters,
the ``\\G`` check and sqlglot's parser; a translation is cached per statement text, so a saved
query polled over HTTP is tokenised once and translated once in all.

Threads
-------
The session runs each statement on a *lane*: a DuckDB cursor (a connection of its own, sharing
the catalog with ``db.duckdb``) with its own registered live tables. Lanes are made on demand
and the idle ones kept (up to ``max_lanes``, which also bounds how many statements run at once),
so statements from several threads run side by side, each with its own snapshot, and a slow
one holds up only itself (DuckDB releases the GIL while it runs). A statement past its
``max_execution_time``, or whose caller says it is no longer waiting (``alive``), is stopped by
interrupting its lane's connection; that lane is then dropped, not reused.
``db.duckdb`` is a different connection, so a notebook using it contends with nothing.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from sqlbridge import catalog, sandbox
from sqlbridge.answer import Answer, capped, clickhouse_describe, read_result, statistics
from sqlbridge.duckdb_errors import from_duckdb
from sqlbridge.errors import (
    QueryError,
    QueryWasCancelled,
    SessionClosed,
    SyntaxError_,
    TooDeepAst,
    UnknownTimeZone,
)
from sqlbridge.history import tables as history_tables
from sqlbridge.limits import Limits, timeout_exceeded, watchdog
from sqlbridge.livetable import LiveTable
from sqlbridge.resulttypes import decorate, type_name_macros
from sqlbridge.source import JobSource
from sqlbridge.split import Piece, split_statements
from sqlbridge.timezone import local_time_zone
from sqlbridge.translate import DIALECTS, Translation, translate

__all__ = ["Session", "Answer", "connect", "LiveTable", "too_deep", "MAX_LANES"]

#: Statements a session runs at once (each on a lane of its own); more wait for a free lane.
MAX_LANES = 8

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


class _Lane:
    """A cursor with its own live tables: one statement at a time runs on it."""

    __slots__ = ("con", "live", "tainted")

    def __init__(self, con: duckdb.DuckDBPyConnection, live: dict[str, LiveTable]) -> None:
        self.con, self.live = con, live
        #: Interrupted (or nearly): an interrupt may still be pending, so never reuse it.
        self.tainted = False


class Session:
    """A SQL session over one job source. Thread-safe; a context manager; see ``connect``."""

    def __init__(self, loader: JobSource, *, dialect: str = "clickhouse",
                 time_zone: str | None = None, limits: Limits | None = None,
                 max_lanes: int = MAX_LANES, exposed: bool = False) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
        if max_lanes < 1:
            raise ValueError(f"max_lanes must be at least 1, not {max_lanes}")
        self.loader = loader
        self.dialect = dialect
        self.time_zone = time_zone or local_time_zone()
        #: The limits statements run under unless their SETTINGS (or the caller's) say more.
        self.limits = limits or Limits()
        #: Served to others (the HTTP endpoint): DuckDB's metadata is refused too
        #: (``sandbox.check(exposed=True)``).
        self.exposed = exposed
        self._lock = threading.Lock()  # the lanes' bookkeeping only, never held while running
        self._free = threading.Condition(self._lock)
        self._closed = False
        #: The history tables' data per statement, once the loader has a history (it records,
        #: or it is one read offline); see ``sqlbridge.history.live``.
        self._history: Any = None
        self._max_lanes = max_lanes
        self._idle: list[_Lane] = []
        self._busy: set[_Lane] = set()
        #: Lanes being opened (outside the lock): they count against ``max_lanes`` from the
        #: moment a thread decides to open one, so two threads cannot both take the last slot.
        self._opening = 0
        self._db = duckdb.connect(":memory:")
        try:
            # GLOBAL: every lane's cursor must inherit it; a plain SET is connection-local and
            # the configuration is locked before the cursors exist.
            self._db.execute("SET GLOBAL TimeZone = ?", [self.time_zone])
        except duckdb.Error:
            self._db.close()
            # DuckDB's text ("Not implemented Error: Unknown TimeZone ... Candidate time zones:"
            # and a list of unrelated zones) is about DuckDB, not about what to type.
            raise UnknownTimeZone(self.time_zone) from None
        self._parent_live = self._register(self._db)
        self._setup_catalog()
        history_tables.admit_directories(self._db, loader)  # before the sandbox locks
        sandbox.harden(self._db)
        self._idle.append(self._new_lane())
        #: DuckDB SQL texts the sandbox already accepted (the catalog cannot change, so the
        #: verdict stands); saved queries polled over HTTP skip two parser round trips.
        self._approved: set[str] = set()
        #: (statement text, count_before_limit) -> Translation; see ``_translation``.
        self._translations: OrderedDict[tuple[str, bool], Translation] = OrderedDict()
        # Close the connections if the session is dropped unclosed (DuckDB 2.0 complains about
        # connections left open at exit); holds no reference to ``self``.
        self._finalizer = weakref.finalize(self, _close_all, self._idle, self._db)

    # ------------------------------------------------------------------------- setup --

    def _register(self, con: duckdb.DuckDBPyConnection) -> dict[str, LiveTable]:
        live = {}
        for table in catalog.SYSTEM_TABLES.values():
            live[table.name] = LiveTable(self._source(table))
            live[table.name].begin(table.arrow_schema.empty_table())  # no snapshot to register
            con.register(table.raw_name, live[table.name])
            live[table.name].end()
        return live

    def _new_lane(self) -> _Lane:
        con = self._db.cursor()
        return _Lane(con, self._register(con))

    def _source(self, table: catalog.SystemTable) -> Callable[[], pa.Table]:
        method = getattr(self.loader, table.source_method, None) \
            or catalog.derived_source(table, self.loader)
        if method is None:
            def empty() -> pa.Table:
                return table.arrow_schema.empty_table()
            return empty
        return method

    def _setup_catalog(self) -> None:
        con = self._db
        names = ", ".join(f"'{n}'" for n in catalog.STATUS_NAMES)
        con.execute(f"CREATE TYPE {catalog.STATUS_DUCKDB_TYPE} AS ENUM ({names})")
        history_tables.create_types(con)
        con.execute(f"CREATE SCHEMA {catalog.INTERNAL_SCHEMA}")
        for table in catalog.SYSTEM_TABLES.values():
            # A view binds its source at creation: give it an empty table of the right shape.
            self._parent_live[table.name].begin(table.arrow_schema.empty_table())
            con.execute(table.view_sql())
            self._parent_live[table.name].end()
            con.execute(f"COMMENT ON VIEW {table.view} IS '{_sql_str(table.description)}'")
        for name, data in catalog.static_tables(time_zone=self.time_zone, dialect=self.dialect,
                                                limits=self.limits).items():
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

    def split(self, text: str) -> list[Piece]:
        """The statements of a ``;``-separated script, each with its tokens, for ``execute``."""
        _require_utf8(text)
        return split_statements(text, self.dialect)

    def statements(self, text: str) -> list[str]:
        """The statements of a ``;``-separated script, split on tokens (not inside strings)."""
        return [p.text for p in self.split(text)]

    def execute(self, sql: str | Piece, *, params: Mapping[str, str] | None = None,
                format: str | None = None, settings: Mapping[str, object] | None = None,
                alive: Callable[[], bool] | None = None) -> Answer:
        """Run one statement (a string, or a ``Piece`` of ``split``) and return its ``Answer``.

        ``params`` fill its ``{name:Type}`` placeholders (a placeholder without one is
        UNKNOWN_QUERY_PARAMETER). ``format`` is the output format unless the statement has a
        ``FORMAT`` clause (or ``\\G``); with neither, ``Answer.format`` is None. ``settings``
        are the caller's limits (``sqlbridge.limits``), under the statement's own ``SETTINGS``.
        ``alive()``, polled while the statement runs, says whether the caller still waits for
        it (an HTTP client still connected); once false, the statement is stopped
        (QUERY_WAS_CANCELLED).
        """
        from sqlbridge.params import substitute

        piece = self._one(sql)
        text = substitute(piece.text, params or {}, self.dialect, piece.tokens)
        return self._answer(text, piece.tokens if text is piece.text else None, format,
                            settings, alive)

    def translate(self, sql: str, *, count_before_limit: bool = False) -> Translation:
        """What ``sql`` (one statement) becomes in DuckDB; for debugging and tests."""
        piece = self._one(sql)
        return self._translation(piece.text, piece.tokens, count_before_limit)

    def query(self, sql: str) -> pa.Table:
        """Run one statement and return its result; a FORMAT clause is accepted and ignored."""
        piece = self._one(sql)
        return self._answer(piece.text, piece.tokens, None, None, None).table

    def run(self, sql: str, format: str | None = None) -> str | bytes:
        """Run one statement and render it: its FORMAT clause, else ``format``, else TSV."""
        piece = self._one(sql)
        return self._answer(piece.text, piece.tokens, format or "TabSeparated", None,
                            None).render()

    def close(self) -> None:
        """Close the session; a statement still running is interrupted first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for lane in self._busy:
                lane.con.interrupt()
            deadline = time.monotonic() + 5.0
            while self._busy and time.monotonic() < deadline:
                self._free.wait(deadline - time.monotonic())
            self._free.notify_all()
        self._finalizer()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------- execution --

    def _one(self, sql: str | Piece) -> Piece:
        if isinstance(sql, Piece):
            return sql
        _require_utf8(sql)
        try:
            pieces = split_statements(sql, self.dialect)
        except RecursionError:
            raise too_deep() from None
        if not pieces:
            raise SyntaxError_("Empty query")
        if len(pieces) > 1:
            raise SyntaxError_("Multi-statements are not allowed (run them one by one, or "
                               "split them with Session.statements)")
        return pieces[0]

    def _translation(self, text: str, tokens: Any, count_before_limit: bool) -> Translation:
        """Translations are cached per statement text: the same saved query is asked again and
        again. (A Translation is never modified after it is built, so sharing it is safe.)"""
        key = (text, count_before_limit)
        cache = self._translations
        t = cache.get(key)
        if t is not None:
            return t
        try:
            t = translate(text, self.dialect, count_before_limit=count_before_limit,
                          tokens=tokens)
        except RecursionError:  # sqlglot parses and walks trees recursively
            raise too_deep() from None
        with self._lock:
            cache[key] = t
            if len(cache) > 256:
                cache.popitem(last=False)
        return t

    def _answer(self, text: str, tokens: Any, format: str | None,
                settings: Mapping[str, object] | None,
                alive: Callable[[], bool] | None) -> Answer:
        from sqlbridge.formats import canonical_format

        t = self._translation(text, tokens, False)
        asked = t.format or format
        name = canonical_format(asked) if asked else None
        if name is not None and name.startswith("JSON") and "EachRow" not in name \
                and t.sql is not None:
            t = self._translation(text, tokens, True)
        limits = self.limits.with_settings(settings or {})
        limits = limits.with_settings(t.settings)
        table, stats = self._execute(t, text, limits, alive)
        before = stats.pop("rows_before_limit", None)
        return Answer(table, name, self.time_zone, stats, before)

    @contextmanager
    def _lane(self) -> Iterator[_Lane]:
        with self._lock:
            while True:
                if self._closed:
                    raise SessionClosed("The session is closed; call sqlbridge.connect() again")
                if self._idle:
                    lane = self._idle.pop()
                    break
                if len(self._busy) + self._opening < self._max_lanes:
                    lane = None
                    self._opening += 1
                    break
                self._free.wait()
            if lane is not None:
                self._busy.add(lane)
        if lane is None:
            try:
                lane = self._new_lane()  # outside the lock: a cursor and its registrations
            finally:
                with self._lock:
                    self._opening -= 1
                    if lane is None:  # it failed: the slot is free again
                        self._free.notify()
                    else:
                        self._busy.add(lane)
        try:
            yield lane
        finally:
            with self._lock:
                self._busy.discard(lane)
                if not lane.tainted and not self._closed and len(self._idle) < self._max_lanes:
                    self._idle.append(lane)
                    lane = None
                self._free.notify()
            if lane is not None:
                _close_all([lane])

    def _run_on(self, lane: _Lane, t: Translation, limits: Limits) -> tuple[list[str], pa.Table]:
        """Run ``t`` on ``lane``: DuckDB's result types and the result.  With a history, over
        its files as listed now, and again (twice at most) if a writer deleted one meanwhile
        or one turns out corrupt (``SessionHistory.recover``)."""
        if self._history is None and history_tables.has_history(self.loader):
            from sqlbridge.history.live import SessionHistory

            self._history = SessionHistory(self.loader)
        history = self._history
        for attempt in range(3):
            if history is not None:
                history.begin(lane.con)
            try:
                relation = lane.con.sql(f"EXPLAIN {t.sql}" if t.explain else t.sql)
                if relation is None:
                    raise QueryError("The statement returned no result")
                return [str(x) for x in relation.types], read_result(relation, limits)
            except duckdb.InterruptException:
                raise
            except duckdb.Error as e:
                if history is None or attempt == 2 or not history.recover(e):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _execute(self, t: Translation, original: str, limits: Limits,
                 alive: Callable[[], bool] | None) -> tuple[pa.Table, dict[str, Any]]:
        started = time.perf_counter()
        if t.result is not None:
            return capped(t.result, limits), statistics(started, 0, 0)
        assert t.sql is not None
        limit = limits.max_execution_time
        with self._lane() as lane:
            watch = None
            if limit or alive is not None:
                deadline = time.monotonic() + limit if limit else None
                watch = watchdog().watch(deadline, lambda why: lane.con.interrupt(), alive)
            for live in lane.live.values():
                live.begin()
            try:
                if t.sql not in self._approved:
                    sandbox.check(lane.con, t.sql, exposed=self.exposed)
                    if len(self._approved) > 1024:
                        self._approved.clear()
                    self._approved.add(t.sql)
                duck_types, table = self._run_on(lane, t, limits)
                if t.explain:
                    plan = "\n".join(table.column("explain_value").to_pylist())
                    table = capped(pa.table({"explain": plan.split("\n")}), limits)
                    duck_types = ["VARCHAR"]
                scanned = [live.current() for live in lane.live.values()]
            except duckdb.InterruptException:
                lane.tainted = True
                why = watchdog().unwatch(watch) if watch is not None else None
                watch = None
                if why == "timeout":
                    raise timeout_exceeded(time.perf_counter() - started, limit) from None
                if self._closed:
                    raise SessionClosed("The session was closed while the statement "
                                        "ran") from None
                raise QueryWasCancelled("Query was cancelled: its client disconnected") from None
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
                for live in lane.live.values():
                    live.end()
                if watch is not None and watchdog().unwatch(watch) is not None:
                    lane.tainted = True  # it fired as the statement ended
        rows = sum(s.num_rows for s in scanned if s is not None)
        nbytes = sum(s.nbytes for s in scanned if s is not None)
        stats = statistics(started, rows, nbytes)
        counter = t.rows_before_limit_column
        if counter is not None and counter in table.column_names:
            counts = table.column(counter)
            stats["rows_before_limit"] = int(counts[0].as_py()) if len(counts) else 0
            table = table.drop_columns([counter])
            duck_types = duck_types[:-1]
        if t.describe:
            table = clickhouse_describe(table)
        table = decorate(table, duck_types, t.type_hints, booleans_as_uint8=t.booleans_as_uint8,
                         nullable=t.nullable)
        return table, stats


def _close_all(lanes: list[_Lane], *connections: duckdb.DuckDBPyConnection) -> None:
    for con in [lane.con for lane in lanes] + list(connections):
        try:
            con.close()
        except duckdb.Error:
            pass


def _require_utf8(text: str) -> None:
    """Refuse text that cannot be UTF-8 (lone surrogates, as bytes decoded with
    ``surrogateescape`` leave them): DuckDB's binding would raise a TypeError on it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SyntaxError_(f"The query is not valid UTF-8: undecodable character "
                           f"{text[e.start]!r} at position {e.start + 1}; send the query as "
                           "UTF-8 text") from None


def too_deep() -> TooDeepAst:
    """ClickHouse refuses an expression nested over ``max_ast_depth`` (1000) with code 167;
    here the limit is Python's recursion (a sum of ~500 terms), reached in sqlglot or in the
    sandbox's walk of DuckDB's parse tree. Nothing is left half-done: the session stays usable."""
    return TooDeepAst("AST is too deep: the expression nests too many operators or parentheses. "
                      "Maximum depth is about 500 here (ClickHouse: 1000); split it or use "
                      "arraySum([...]) for a long sum")


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def connect(loader: JobSource, *, dialect: str = "clickhouse", time_zone: str | None = None,
            limits: Limits | None = None) -> Session:
    """A read-only SQL session over ``loader`` (a ``sqlbridge.source.JobSource``: anything with
    ``snapshot()`` and, for the pools table, ``pool_snapshot()`` returning Arrow tables with
    ``loader.snapshot``'s schemas). An unknown ``time_zone`` raises ``UnknownTimeZone``."""
    return Session(loader, dialect=dialect, time_zone=time_zone, limits=limits)

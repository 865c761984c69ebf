"""What a cell queries: a loader in process (``Local``) or an HTTP endpoint (``Remote``), and
the sessions and connections kept for them (``Connections``).

*Which loader.* ``--connect URL`` queries an HTTP endpoint (``sqlbridge.serve``, ``asl demo
--serve``) through ``sqlbridge.endpoint.client.Client``; ``--loader NAME`` names a variable
(or a dotted path, ``app.loader``) holding anything with ``snapshot()``; without either, the
default set by ``%asl_connect NAME`` (or ``%asl_connect --connect URL``), else the only
``loader.AsyncLoader`` in the notebook's namespace (``target()``). Several candidates, or none,
is an error naming what to type: guessing between two loaders would answer about the wrong one.
``%asl_connect`` stores the *name*, not the object, so re-running the cell that builds the
loader is followed.

*One session per loader.* A session is a DuckDB database with the catalog set up (~30 ms to
build); cells reuse it. Sessions are keyed by loader, dialect and time zone (the zone is
DuckDB's global setting, locked after setup, so another zone needs another session) and the
least recently used is closed past ``MAX_SESSIONS`` (``sqlbridge.sessions.SessionCache``, the
cache the HTTP endpoint uses too): a notebook that rebuilds its loader ten
times does not keep ten databases. A session holds its loader, so nothing weaker than that
bound would ever free one. Remote endpoints keep one kept-alive connection per URL and token.

*Remote results.* With ``--connect`` a table is fetched as ``FORMAT ArrowStream`` (one request,
one snapshot) and rendered here; its times show in ``--time-zone``, else in the zone the server
answered in. A ``FORMAT`` clause in the statement wins on the server as it does locally, and the
answer is then told apart by its first bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlbridge.notebook.result import QueryFailed, Result, usage

if TYPE_CHECKING:
    import pyarrow as pa

    from sqlbridge.endpoint.client import Client
    from sqlbridge.session import Session
    from sqlbridge.source import JobSource
    from sqlbridge.split import Piece

__all__ = ["Local", "Remote", "Connections", "target", "lookup", "find_loader", "MAX_SESSIONS",
           "ARROW_STREAM_MAGIC"]

#: Sessions kept open at once (one per loader, dialect and time zone); see the docstring.
MAX_SESSIONS = 8
#: First bytes of an Arrow IPC stream (the continuation marker): how a ``--connect`` answer
#: asked for as ArrowStream is told from one a ``FORMAT`` clause in the statement changed.
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class Local:
    """A loader queried in process, through a cached session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def statements(self, text: str) -> list[Piece]:
        return self.session.split(text)

    def execute(self, statement: Piece, fmt: str | None, params: Mapping[str, str],
                ) -> Result | str | bytes:
        answer = self.session.execute(statement, params=params, format=fmt)
        if answer.format is None:  # neither --format nor a FORMAT clause: a table to show
            return Result(answer.table, statement=statement.text, time_zone=answer.time_zone)
        return answer.render()


class Remote:
    """An HTTP endpoint; the server translates, runs and renders."""

    def __init__(self, remote: Client, dialect: str, time_zone: str | None) -> None:
        self.remote, self.dialect, self.time_zone = remote, dialect, time_zone

    def statements(self, text: str) -> list[str]:
        from sqlbridge.endpoint.client import split_script
        from sqlbridge.errors import QueryError

        try:
            return split_script(text, self.dialect)
        except QueryError as e:  # the tokenizer's SYNTAX_ERROR (an unterminated string)
            raise QueryFailed(str(e), e.code) from None

    def execute(self, statement: str, fmt: str | None, params: Mapping[str, str],
                ) -> Result | str | bytes:
        import pyarrow as pa

        settings = {"default_format": fmt or "ArrowStream"}
        if self.time_zone:
            settings["session_timezone"] = self.time_zone
        if self.dialect != "clickhouse":
            settings["dialect"] = self.dialect
        data = self.remote.execute(statement, settings=settings, params=params)
        assert data is not None
        if fmt is None and data.startswith(ARROW_STREAM_MAGIC):
            table = pa.ipc.open_stream(data).read_all()
            return Result(table, statement=statement, time_zone=self.time_zone
                          or _zone_of(table))
        try:
            return data.decode()
        except UnicodeDecodeError:  # Parquet, Arrow: a binary format, asked for or in a clause
            return data


def _zone_of(table: pa.Table) -> str | None:
    """The zone of the first zoned timestamp column: the server's session zone, which is how
    a remote answer's times should read when ``--time-zone`` was not given."""
    import pyarrow.types as pat

    for field in table.schema:
        if pat.is_timestamp(field.type) and field.type.tz:
            return str(field.type.tz)
    return None


class Connections:
    """Sessions (LRU, at most ``MAX_SESSIONS``), remote clients, and ``%asl_connect``'s choice."""

    def __init__(self) -> None:
        from sqlbridge.sessions import SessionCache

        self.sessions = SessionCache(MAX_SESSIONS)
        self._remotes: dict[tuple[str, str | None], Client] = {}
        #: ``("loader", NAME)`` or ``("connect", URL, TOKEN)`` from ``%asl_connect``, or None.
        self.default: tuple[str, ...] | None = None

    def session(self, loader: JobSource, dialect: str, time_zone: str | None) -> Session:
        from sqlbridge.errors import UnknownTimeZone

        try:
            return self.sessions.get(loader, dialect, time_zone)
        except UnknownTimeZone as e:  # the session says which names work
            raise usage(f"--time-zone: {e.message}") from None

    def remote(self, url: str, token: str | None) -> Client:
        from sqlbridge.endpoint.client import Client

        key = (url, token)
        if key not in self._remotes:
            try:
                self._remotes[key] = Client(url, token=token)
            except ValueError as e:  # parse_url says which URL forms work
                raise usage(f"--connect: {e}") from None
        return self._remotes[key]

    def close(self) -> None:
        self.sessions.close()
        for remote in self._remotes.values():
            remote.close()
        self._remotes.clear()
        from sqlbridge.sessions import SessionCache

        self.sessions = SessionCache(MAX_SESSIONS)  # usable again, as before


def lookup(name: str, namespace: Mapping[str, Any], what: str = "--loader") -> Any:
    """The object a variable name or dotted path (``app.loader``) names in ``namespace``;
    ``what`` (the option or magic given ``name``) is for the error message."""
    if not _DOTTED.fullmatch(name):
        raise usage(f"{what} takes a variable name (or a dotted path such as app.loader), "
                    f"not {name!r}")
    first, *rest = name.split(".")
    if first not in namespace:
        raise usage(f"No variable {first!r} in the notebook: run the cell that creates the "
                    "loader, or name another one")
    obj = namespace[first]
    for i, part in enumerate(rest):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = ".".join([first, *rest[:i]])
            raise usage(f"{where} has no attribute {part!r}") from None
    if not callable(getattr(obj, "snapshot", None)):
        raise usage(f"{name} is not a loader: it holds a {type(obj).__name__!r} object, "
                    "which has no snapshot() method. Name a loader.AsyncLoader")
    return obj


def find_loader(namespace: Mapping[str, Any]) -> tuple[str, Any]:
    """The only ``loader.AsyncLoader`` in ``namespace`` and its name, or a ``UsageError`` that
    says how to choose. Names starting with ``_`` (IPython's output history) do not count."""
    from loader import AsyncLoader

    found: dict[int, list[str]] = {}
    objects: dict[int, Any] = {}
    for name, value in list(namespace.items()):
        if not name.startswith("_") and isinstance(value, AsyncLoader):
            found.setdefault(id(value), []).append(name)
            objects[id(value)] = value
    if not found:
        raise usage("No loader to query: no loader.AsyncLoader in the notebook's namespace. "
                    "Create one, name one with --loader NAME or %asl_connect NAME, or query "
                    "a server with --connect URL")
    if len(found) > 1:
        names = ", ".join(sorted(names[0] for names in found.values()))
        raise usage(f"Several loaders in the namespace ({names}): choose one with "
                    "--loader NAME, or for every cell with %asl_connect NAME")
    key, names = next(iter(found.items()))
    return sorted(names)[0], objects[key]


def target(connections: Connections, args: Any, namespace: Mapping[str, Any],
           ) -> Local | Remote:
    """What a cell queries: ``--connect``, else ``--loader``, else ``%asl_connect``'s default,
    else the only loader in ``namespace`` (*Which loader*, above)."""
    if args.connect and args.loader:
        raise usage("--loader and --connect exclude each other: query a local loader or a "
                    "server, not both")
    url, token = args.connect, args.token
    if not url and not args.loader and connections.default is not None \
            and connections.default[0] == "connect":
        _, url, default_token = connections.default
        token = token or default_token
    if url:
        token = token or os.environ.get("ASL_TOKEN") or None
        return Remote(connections.remote(url, token), args.dialect, args.time_zone)
    if args.loader:
        loader = lookup(args.loader, namespace)
    elif connections.default is not None:
        loader = lookup(connections.default[1], namespace, "%asl_connect")
    else:
        loader = find_loader(namespace)[1]
    return Local(connections.session(loader, args.dialect, args.time_zone))

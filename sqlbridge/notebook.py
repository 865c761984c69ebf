"""``%load_ext sqlbridge``: the ``%%asl`` and ``%asl`` magics for Jupyter and IPython.

A cell is SQL over a loader's live tables, run by a ``sqlbridge`` session::

    %%asl --time-zone UTC
    SELECT status, count() FROM system.asynchronous_loader GROUP BY status

Design
------
*Which loader.* ``--connect URL`` queries an HTTP endpoint (``sqlbridge.serve``, ``asl demo
--serve``) through ``cli.remote.Remote``; ``--loader NAME`` names a variable (or a dotted path,
``app.loader``) holding anything with ``snapshot()``; without either, the default set by
``%asl_connect NAME`` (or ``%asl_connect --connect URL``), else the only ``loader.AsyncLoader``
in the notebook's namespace. Several candidates, or none, is an error naming what to type:
guessing between two loaders would answer about the wrong one. ``%asl_connect`` stores the
*name*, not the object, so re-running the cell that builds the loader is followed.

*One session per loader.* A session is a DuckDB database with the catalog set up (~30 ms to
build); cells reuse it. Sessions are keyed by loader, dialect and time zone (the zone is
DuckDB's global setting, locked after setup, so another zone needs another session) and the
least recently used is closed past ``MAX_SESSIONS``: a notebook that rebuilds its loader ten
times does not keep ten databases. A session holds its loader, so nothing weaker than that
bound would ever free one. Remote endpoints keep one kept-alive connection per URL and token.

*What a cell shows.* Every statement runs in order, as ``asl sql`` and clickhouse-client run a
script, and each result is shown as it finishes: SQL here only reads, so every statement is
there for its output. The last result is the cell's value (``Out[n]``, ``_``); the earlier ones
go through ``display()``. A result is a ``Result``: an HTML table in Jupyter, ClickHouse's
PrettyCompact text in a terminal, ``.arrow`` and ``.to_pandas()`` for code. With ``--format``,
or a ``FORMAT`` clause (``\\G``) in the statement, ClickHouse's exact text is printed instead,
as clickhouse-client prints it, and the cell has no value; binary formats (Parquet, Arrow) print
a one-line note. ``-o VAR`` stores the last statement's result: the ``Result``, or the printed
text (``str``; ``bytes`` for a binary format).

*Errors.* A failed statement raises ``QueryFailed``, whose ``_render_traceback_`` makes IPython
show only ``Code: N. DB::Exception: ...``: the cell fails (Run All stops) without a Python
traceback that would be about this module rather than the query. Statements before it have
been shown; the ones after it do not run; the session is still usable. A bad option or a missing
loader is IPython's ``UsageError``: one line.

*Options.* They are split into words as a shell splits a command line (``-p 's=load table %'``
is one value, as for ``asl sql``; IPython's ``parse_argstring`` would keep the quotes in it).
IPython expands ``{expr}`` and ``$name`` in a magic's line before calling it, and the line of
``%asl`` is SQL, where ``{name:Type}`` is a query parameter and ``{...}`` a map literal. Both
magics opt out (``no_var_expand``) and expand each option word instead, with IPython's own
formatter over the user namespace: ``--param job={name}`` or ``-p job=$name`` pass a Python
value, and one with spaces stays one word, while the SQL (the rest of an ``%asl`` line, and a
``%%asl`` cell's body, which IPython never expands) reaches the session untouched. Write ``{{``
for a literal brace in an option.

*Remote results.* With ``--connect`` a table is fetched as ``FORMAT ArrowStream`` (one request,
one snapshot) and rendered here; its times show in ``--time-zone``, else in the zone the server
answered in. A ``FORMAT`` clause in the statement wins on the server as it does locally, and the
answer is then told apart by its first bytes.

IPython is imported only inside the functions that IPython calls (``load_ipython_extension``)
and the magics themselves, so this module, and ``import sqlbridge``, never need it.
"""

from __future__ import annotations

import html
import keyword
import os
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from cli.remote import Remote
    from sqlbridge.session import Session

__all__ = ["Result", "QueryFailed", "load_ipython_extension", "unload_ipython_extension",
           "MAX_SESSIONS"]

#: Sessions kept open at once (one per loader, dialect and time zone); see the docstring.
MAX_SESSIONS = 8
#: Pretty's row limit (``output_format_pretty_max_rows``): the HTML table shows as many.
MAX_ROWS = 1000
#: Characters of one value shown in the HTML table (Pretty cuts at as many columns).
MAX_VALUE_CHARS = 10000
#: First bytes of an Arrow IPC stream (the continuation marker): how a ``--connect`` answer
#: asked for as ArrowStream is told from one a ``FORMAT`` clause in the statement changed.
_ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"

# (flags, argparse keywords) of the cell options, in the order ``%asl?`` lists them.
_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("-l", "--loader"), {"metavar": "NAME", "help": (
        "The variable holding the loader (a dotted path works: app.loader). Default: the one "
        "set with %%asl_connect, else the only loader.AsyncLoader in the namespace.")}),
    (("-c", "--connect"), {"metavar": "URL", "help": (
        "Query an asl HTTP endpoint (sqlbridge.serve, asl demo --serve) instead of a local "
        "loader: http://HOST:PORT, unix:/PATH or http+unix://%%2FPATH.")}),
    (("--token",), {"metavar": "TOKEN", "help": (
        "With --connect: the endpoint's token (default: $ASL_TOKEN).")}),
    (("-f", "--format"), {"metavar": "FMT", "help": (
        "Print ClickHouse's exact output in this format (JSON, Vertical, CSV, ...) instead of "
        "a table; a FORMAT clause in a statement does the same for that statement.")}),
    (("-t", "--time-zone"), {"metavar": "TZ", "dest": "time_zone", "help": (
        "Time zone for times in the results (an IANA name; default: the local zone).")}),
    (("-d", "--dialect"), {"choices": ["clickhouse", "duckdb"], "default": "clickhouse",
                           "help": "SQL dialect of the cell (default: clickhouse)."}),
    (("-p", "--param"), {"metavar": "NAME=VALUE", "action": "append", "default": [],
                         "dest": "params", "help": (
        "A value for a {NAME:Type} placeholder; repeat for several. {var} and $var in options "
        "are Python values.")}),
    (("-o", "--output"), {"metavar": "VAR", "help": (
        "Also store the last statement's result in variable VAR (a Result; with a format, "
        "the printed text, or bytes for Parquet/Arrow).")}),
]
#: Option strings that take a value: where the options of an ``%asl`` line end and SQL begins.
_VALUE_FLAGS = frozenset(flag for flags, _ in _OPTIONS for flag in flags)
#: One word of a shell command line (quotes and backslashes included): ``s='a b'`` is one.
_TOKEN = re.compile(r"""\s*((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)""")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


# ------------------------------------------------------------------------------- results --


class Result:
    """One statement's result table, shown as ClickHouse shows it.

    ``.arrow`` is the ``pyarrow.Table`` (with ClickHouse types in its fields' metadata),
    ``.to_pandas()`` a DataFrame, ``.text`` the PrettyCompact text clickhouse-client prints
    (also the plain-text repr), and in Jupyter an HTML table (``_repr_html_``).
    """

    def __init__(self, table: pa.Table, *, statement: str = "",
                 time_zone: str | None = None) -> None:
        self.arrow = table
        self.statement = statement
        #: Zone the times are shown in (None: the process's local zone).
        self.time_zone = time_zone
        self._text: str | None = None

    @property
    def text(self) -> str:
        """``FORMAT PrettyCompact`` of the table, byte for byte (empty for no rows)."""
        if self._text is None:
            from sqlbridge.formats import render

            text = render(self.arrow, "PrettyCompact", time_zone=self.time_zone)
            assert isinstance(text, str)
            self._text = text
        return self._text

    @property
    def column_names(self) -> list[str]:
        return list(self.arrow.column_names)

    def __len__(self) -> int:
        return self.arrow.num_rows

    def to_pandas(self, **options: Any) -> Any:
        """The table as a ``pandas.DataFrame`` (``options`` go to ``pyarrow.Table.to_pandas``)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ImportError("Result.to_pandas() needs pandas (pip install pandas); "
                              "Result.arrow is the pyarrow.Table without it") from None
        return self.arrow.to_pandas(**options)

    def __repr__(self) -> str:
        # ClickHouse prints nothing for an empty result; a notebook's ``Out[n]:`` with nothing
        # after it looks like a hang, so say what clickhouse-client says on its status line.
        return self.text.rstrip("\n") or "0 rows in set."

    def _repr_html_(self) -> str:
        from sqlbridge.formats._values import columns_of, serialize_column, zone
        from sqlbridge.formats.pretty import NULL

        table, n = self.arrow, self.arrow.num_rows
        rows = list(range(n))
        if n > MAX_ROWS:  # Pretty's rule: the first 500 rows and the last 500
            head, tail = (MAX_ROWS + 1) // 2, MAX_ROWS // 2
            rows = rows[:head] + rows[n - tail:]
            import pyarrow as pa

            table = pa.concat_tables([table.slice(0, head), table.slice(n - tail)])
        cols = columns_of(table)
        tz = zone(self.time_zone)
        values = [serialize_column(c, "pretty", tz, NULL).to_pylist() for c in cols]
        cell = "<td style=\"text-align: {}; white-space: pre-wrap\">{}</td>"
        out = ['<table class="asl-result">', "<thead><tr><th></th>"]
        for c in cols:
            out.append(f'<th title="{html.escape(c.type_name)}" style="text-align: '
                       f'{"right" if c.align_right else "left"}">{html.escape(c.name)}</th>')
        out.append("</tr></thead><tbody>")
        for k, i in enumerate(rows):
            if k and i != rows[k - 1] + 1:
                out.append(f'<tr><th></th><td colspan="{len(cols)}" '
                           'style="text-align: center">⋮</td></tr>')
            out.append(f"<tr><th>{i + 1}.</th>")
            for c, column in zip(cols, values, strict=True):
                value = column[k]
                if len(value) > MAX_VALUE_CHARS:
                    value = value[:MAX_VALUE_CHARS] + "⋯"
                out.append(cell.format("right" if c.align_right else "left",
                                       html.escape(value)))
            out.append("</tr>")
        out.append("</tbody></table>")
        if n > len(rows):
            out.append(f"<p>Showed {len(rows)} out of {n} rows.</p>")
        elif n == 0:
            out.append("<p>0 rows in set.</p>")
        return "".join(out)


class QueryFailed(Exception):
    """A statement of a cell failed; IPython shows only ``text`` (ClickHouse's error)."""

    def __init__(self, text: str, code: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code

    def _render_traceback_(self) -> list[str]:
        return [self.text]


def _usage(message: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(message)


# ------------------------------------------------------------------------------- targets --


class _Local:
    """A loader queried in process, through a cached session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def statements(self, text: str) -> list[str]:
        return self.session.statements(text)

    def execute(self, statement: str, fmt: str | None, params: Mapping[str, str],
                ) -> Result | str | bytes:
        from sqlbridge.params import substitute

        db = self.session
        sql = substitute(statement, params, db.dialect)
        if fmt is None and db.translate(sql).format is None:  # translations are cached
            return Result(db.query(sql), statement=statement, time_zone=db.time_zone)
        return db.run(sql, format=fmt)


class _Remote:
    """An HTTP endpoint; the server translates, runs and renders."""

    def __init__(self, remote: Remote, dialect: str, time_zone: str | None) -> None:
        self.remote, self.dialect, self.time_zone = remote, dialect, time_zone

    def statements(self, text: str) -> list[str]:
        from cli.remote import split_script

        try:
            return split_script(text, self.dialect)
        except ValueError as e:  # the tokenizer's SYNTAX_ERROR (an unterminated string)
            raise QueryFailed(str(e), 62) from None

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
        if fmt is None and data.startswith(_ARROW_STREAM_MAGIC):
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


class _Connections:
    """Sessions (LRU, at most ``MAX_SESSIONS``), remote clients, and ``%asl_connect``'s choice."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[tuple[int, str, str | None], Session] = OrderedDict()
        self._remotes: dict[tuple[str, str | None], Remote] = {}
        #: ``("loader", NAME)`` or ``("connect", URL, TOKEN)`` from ``%asl_connect``, or None.
        self.default: tuple[str, ...] | None = None

    def session(self, loader: Any, dialect: str, time_zone: str | None) -> Session:
        key = (id(loader), dialect, time_zone)
        db = self._sessions.get(key)
        if db is not None and db.loader is loader:
            self._sessions.move_to_end(key)
            return db
        if db is not None:  # the loader it was for is gone and its id() reused
            db.close()
        import sqlbridge

        try:
            db = sqlbridge.connect(loader, dialect=dialect, time_zone=time_zone)
        except ValueError as e:  # an unknown time zone; the session says which to use
            raise _usage(f"--time-zone: {e}") from None
        self._sessions[key] = db
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)[1].close()
        return db

    def remote(self, url: str, token: str | None) -> Remote:
        from cli.remote import Remote

        key = (url, token)
        if key not in self._remotes:
            try:
                self._remotes[key] = Remote(url, token=token)
            except ValueError as e:  # parse_url says which URL forms work
                raise _usage(f"--connect: {e}") from None
        return self._remotes[key]

    def close(self) -> None:
        for db in self._sessions.values():
            db.close()
        for remote in self._remotes.values():
            remote.close()
        self._sessions.clear()
        self._remotes.clear()


def lookup(name: str, namespace: Mapping[str, Any], what: str = "--loader") -> Any:
    """The object a variable name or dotted path (``app.loader``) names in ``namespace``;
    ``what`` (the option or magic given ``name``) is for the error message."""
    if not _DOTTED.fullmatch(name):
        raise _usage(f"{what} takes a variable name (or a dotted path such as app.loader), "
                     f"not {name!r}")
    first, *rest = name.split(".")
    if first not in namespace:
        raise _usage(f"No variable {first!r} in the notebook: run the cell that creates the "
                     "loader, or name another one")
    obj = namespace[first]
    for i, part in enumerate(rest):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = ".".join([first, *rest[:i]])
            raise _usage(f"{where} has no attribute {part!r}") from None
    if not callable(getattr(obj, "snapshot", None)):
        raise _usage(f"{name} is not a loader: it holds a {type(obj).__name__!r} object, "
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
        raise _usage("No loader to query: no loader.AsyncLoader in the notebook's namespace. "
                     "Create one, name one with --loader NAME or %asl_connect NAME, or query "
                     "a server with --connect URL")
    if len(found) > 1:
        names = ", ".join(sorted(names[0] for names in found.values()))
        raise _usage(f"Several loaders in the namespace ({names}): choose one with "
                     "--loader NAME, or for every cell with %asl_connect NAME")
    key, names = next(iter(found.items()))
    return sorted(names)[0], objects[key]


# ------------------------------------------------------------------------------- running --


def split_line(line: str) -> tuple[str, str]:
    """An ``%asl`` line as ``(options, sql)``: options while words start with ``-`` (with the
    value of those that take one), then the SQL, verbatim; ``--`` ends the options."""
    pos = 0
    while True:
        m = _TOKEN.match(line, pos)
        if m is None or not m.group(1).startswith("-"):
            break
        word = m.group(1)
        if word == "--":
            return line[:m.start(1)].strip(), line[m.end():].lstrip()
        pos = m.end()
        if word in _VALUE_FLAGS:  # "-f JSON"; "-fJSON" and "--format=JSON" are one word
            value = _TOKEN.match(line, pos)
            if value is not None:
                pos = value.end()
    return line[:pos].strip(), line[pos:].lstrip()


def expand(word: str, namespace: Mapping[str, Any]) -> str:
    """``{expr}`` and ``$name`` in ``word`` replaced as IPython replaces them in a magic's
    line; left as it is if any fails, as IPython leaves it."""
    from IPython.utils.text import DollarFormatter

    try:
        return DollarFormatter().vformat(word, args=[], kwargs=dict(namespace))
    except Exception:
        return word


def run_cell(connections: _Connections, args: Any, sql: str, namespace: dict[str, Any],
             show: Callable[[Any], None]) -> Result | None:
    """Run every statement of ``sql``; ``show`` displays each result but the last, which is
    returned (None when results are printed text)."""
    from sqlbridge.errors import QueryError

    target = _target(connections, args, namespace)
    params = _params(args.params)
    fmt = _format(args.format, remote=isinstance(target, _Remote))
    if args.output is not None and (not args.output.isidentifier()
                                    or keyword.iskeyword(args.output)):
        raise _usage(f"-o/--output takes a Python variable name, not {args.output!r}")
    try:
        statements = target.statements(sql)
    except QueryError as e:
        raise QueryFailed(str(e), e.code) from None
    if not statements:
        raise _usage("No SQL statement given (the cell is empty or only comments): write "
                     "%asl SELECT ... or a %%asl cell")
    last: Result | str | bytes | None = None
    for statement in statements:
        if isinstance(last, Result):
            show(last)
        last = _execute(target, statement, fmt, params)
        if not isinstance(last, Result):
            _print(last, fmt)
    if args.output is not None:
        namespace[args.output] = last
    return last if isinstance(last, Result) else None


def _execute(target: _Local | _Remote, statement: str, fmt: str | None,
             params: Mapping[str, str]) -> Result | str | bytes:
    from cli.remote import ServerError, Unreachable
    from loader import AsyncLoadError
    from sqlbridge.errors import QueryError

    try:
        return target.execute(statement, fmt, params)
    except QueryError as e:
        raise QueryFailed(str(e), e.code) from None
    except ServerError as e:
        raise QueryFailed(e.text, e.code) from None
    except Unreachable as e:  # nothing ran: say where nothing answered and what to start
        # Its text ends "fix --connect / ASL_URL": cells read no ASL_URL.
        text = e.format_message().replace("--connect / ASL_URL", "--connect")
        raise QueryFailed(f"Error: {text}") from None
    except AsyncLoadError as e:  # a loader's snapshot failing, say
        raise QueryFailed(str(e)) from None


def _print(output: str | bytes, fmt: str | None) -> None:
    if isinstance(output, bytes):
        name = fmt or _binary_format(output)
        print(f"({name} output: {len(output)} bytes; keep them with -o VAR)")
    else:
        sys.stdout.write(output)
        sys.stdout.flush()


def _binary_format(data: bytes) -> str:
    """The format a ``FORMAT`` clause asked for, from its magic bytes."""
    if data.startswith(b"PAR1"):
        return "Parquet"
    if data.startswith(b"ARROW1"):
        return "Arrow"
    return "ArrowStream" if data.startswith(_ARROW_STREAM_MAGIC) else "binary"


def _target(connections: _Connections, args: Any, namespace: Mapping[str, Any],
            ) -> _Local | _Remote:
    if args.connect and args.loader:
        raise _usage("--loader and --connect exclude each other: query a local loader or a "
                     "server, not both")
    url, token = args.connect, args.token
    if not url and not args.loader and connections.default is not None \
            and connections.default[0] == "connect":
        _, url, default_token = connections.default
        token = token or default_token
    if url:
        token = token or os.environ.get("ASL_TOKEN") or None
        return _Remote(connections.remote(url, token), args.dialect, args.time_zone)
    if args.loader:
        loader = lookup(args.loader, namespace)
    elif connections.default is not None:
        loader = lookup(connections.default[1], namespace, "%asl_connect")
    else:
        loader = find_loader(namespace)[1]
    return _Local(connections.session(loader, args.dialect, args.time_zone))


def _params(items: list[str]) -> dict[str, str]:
    from sqlbridge.errors import QueryError
    from sqlbridge.params import parse_assignments

    try:
        return parse_assignments(items)
    except QueryError as e:
        raise _usage(f"--param: {e.message}") from None


def _format(name: str | None, *, remote: bool) -> str | None:
    if name is None or remote:  # a server knows its own formats (a real ClickHouse has more)
        return name
    from sqlbridge.errors import QueryError
    from sqlbridge.formats import canonical_format

    try:
        return canonical_format(name)
    except QueryError as e:
        raise _usage(f"--format: {e.message}") from None


# --------------------------------------------------------------------------- IPython glue --


def _option_decorators(func: Callable) -> Callable:
    from IPython.core.magic_arguments import argument, magic_arguments

    for flags, keywords in reversed(_OPTIONS):  # each decorator goes first in the help
        func = argument(*flags, **keywords)(func)
    return magic_arguments()(func)


def parse_options(magic: Callable, options: str, namespace: Mapping[str, Any]) -> Any:
    """``options`` parsed by ``magic``'s argument parser: split into words as a shell splits a
    command line (``-p s='load table %'`` is one value, as for ``asl sql``; IPython's own
    ``parse_argstring`` would keep the quotes), then each word expanded (``expand``), so a
    Python value with spaces stays one word."""
    from IPython.utils.process import arg_split

    words = [expand(word, namespace) for word in arg_split(options, posix=True)]
    return magic.parser.parse_args(words)  # type: ignore[attr-defined]


def _magics_class() -> type:
    """The ``Magics`` subclass, built when IPython loads the extension (IPython's decorators
    are needed to define it, and this module must import without IPython)."""
    from IPython.core.magic import (
        Magics,
        line_cell_magic,
        line_magic,
        magics_class,
        no_var_expand,
    )
    from IPython.core.magic_arguments import argument, magic_arguments
    from IPython.display import display

    @magics_class
    class AslMagics(Magics):
        def __init__(self, shell: Any) -> None:
            super().__init__(shell)
            self.connections = _Connections()

        @no_var_expand
        @line_cell_magic
        @_option_decorators
        def asl(self, line: str, cell: str | None = None) -> Result | None:
            """SQL over a loader's live tables: ``%asl [options] SQL`` or a ``%%asl [options]``
            cell (several ``;``-separated statements run in order and each result is shown).
            """
            options, sql = split_line(line) if cell is None else (line, cell)
            namespace = self.shell.user_ns
            args = parse_options(self.asl, options, namespace)
            return run_cell(self.connections, args, sql, namespace, display)

        @no_var_expand
        @line_magic
        @magic_arguments()
        @argument("name", nargs="?", metavar="NAME",
                  help="The variable holding the loader every cell queries (a dotted path "
                       "works).")
        @argument("-c", "--connect", metavar="URL",
                  help="Query this asl HTTP endpoint in every cell instead.")
        @argument("--token", metavar="TOKEN", help="With --connect: the endpoint's token.")
        def asl_connect(self, line: str) -> None:
            """Choose what ``%%asl`` cells query by default; without arguments, say what
            they query now."""
            namespace = self.shell.user_ns
            args = parse_options(self.asl_connect, line, namespace)
            if args.name and args.connect:
                raise _usage("%asl_connect takes a loader NAME or --connect URL, not both")
            if args.connect:
                self.connections.remote(args.connect, args.token)  # checks the URL now
                self.connections.default = ("connect", args.connect, args.token or "")
            elif args.name:
                # a typo is reported now, not at the next cell
                lookup(args.name, namespace, "%asl_connect")
                self.connections.default = ("loader", args.name)
            print(_describe(self.connections.default, namespace))

    return AslMagics


def _describe(default: tuple[str, ...] | None, namespace: Mapping[str, Any]) -> str:
    from IPython.core.error import UsageError

    if default is None:
        try:
            name = find_loader(namespace)[0]
        except UsageError as e:
            return f"%%asl cells have no default loader yet: {e}"
        return f"%%asl cells query {name}, the only loader.AsyncLoader in the namespace"
    if default[0] == "connect":
        return f"%%asl cells query {default[1]}"
    return f"%%asl cells query the loader {default[1]}"


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sqlbridge``: register ``%asl``, ``%%asl`` and ``%asl_connect``."""
    ipython.register_magics(_magics_class())


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sqlbridge``: close the sessions and connections, remove the magics."""
    manager = ipython.magics_manager
    magics = manager.registry.pop("AslMagics", None)
    if magics is not None:
        magics.connections.close()
    for kind, name in (("line", "asl"), ("cell", "asl"), ("line", "asl_connect")):
        manager.magics[kind].pop(name, None)

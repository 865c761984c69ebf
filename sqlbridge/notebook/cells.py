"""A cell: its options (``split_line``, ``parse_options``), then its statements, run in order
(``run_cell``).

*What a cell shows.* Every statement runs in order, as ``asl sql`` and clickhouse-client run a
script, and each result is shown as it finishes: SQL here only reads, so every statement is
there for its output. The last result is the cell's value (``Out[n]``, ``_``); the earlier ones
go through ``display()``. A result is a ``Result`` (``sqlbridge.notebook.result``). With
``--format``, or a ``FORMAT`` clause (``\\G``) in the statement, ClickHouse's exact text is
printed instead, as clickhouse-client prints it, and the cell has no value; binary formats
(Parquet, Arrow) print a one-line note. ``-o VAR`` stores the last statement's result: the
``Result``, or the printed text (``str``; ``bytes`` for a binary format). A failed statement
(``QueryFailed``) stops the cell: statements before it have been shown; the ones after it do not
run; the session is still usable.

*Options.* They are split into words as a shell splits a command line (``-p 's=load table %'``
is one value, as for ``asl sql``; IPython's ``parse_argstring`` would keep the quotes in it).
IPython expands ``{expr}`` and ``$name`` in a magic's line before calling it, and the line of
``%asl`` is SQL, where ``{name:Type}`` is a query parameter and ``{...}`` a map literal. Both
magics opt out (``no_var_expand``) and expand each option word instead, with IPython's own
formatter over the user namespace: ``--param job={name}`` or ``-p job=$name`` pass a Python
value, and one with spaces stays one word, while the SQL (the rest of an ``%asl`` line, and a
``%%asl`` cell's body, which IPython never expands) reaches the session untouched. Write ``{{``
for a literal brace in an option.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from sqlbridge.notebook import targets
from sqlbridge.notebook.result import QueryFailed, Result, usage

__all__ = ["OPTIONS", "split_line", "expand", "parse_options", "run_cell"]

# (flags, argparse keywords) of the cell options, in the order ``%asl?`` lists them.
OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
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
_VALUE_FLAGS = frozenset(flag for flags, _ in OPTIONS for flag in flags)
#: One word of a shell command line (quotes and backslashes included): ``s='a b'`` is one.
_TOKEN = re.compile(r"""\s*((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)""")


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


def parse_options(magic: Callable, options: str, namespace: Mapping[str, Any]) -> Any:
    """``options`` parsed by ``magic``'s argument parser: split into words as a shell splits a
    command line (``-p s='load table %'`` is one value, as for ``asl sql``; IPython's own
    ``parse_argstring`` would keep the quotes), then each word expanded (``expand``), so a
    Python value with spaces stays one word."""
    from IPython.utils.process import arg_split

    words = [expand(word, namespace) for word in arg_split(options, posix=True)]
    return magic.parser.parse_args(words)  # type: ignore[attr-defined]


def run_cell(connections: targets.Connections, args: Any, sql: str, namespace: dict[str, Any],
             show: Callable[[Any], None]) -> Result | None:
    """Run every statement of ``sql``; ``show`` displays each result but the last, which is
    returned (None when results are printed text)."""
    from sqlbridge.errors import QueryError

    target = targets.target(connections, args, namespace)
    params = _params(args.params)
    fmt = _format(args.format, remote=isinstance(target, targets.Remote))
    if args.output is not None and (not args.output.isidentifier()
                                    or keyword.iskeyword(args.output)):
        raise usage(f"-o/--output takes a Python variable name, not {args.output!r}")
    try:
        statements = target.statements(sql)
    except QueryError as e:
        raise QueryFailed(str(e), e.code) from None
    if not statements:
        raise usage("No SQL statement given (the cell is empty or only comments): write "
                    "%asl SELECT ... or a %%asl cell")
    last: Result | str | bytes | None = None
    for i, statement in enumerate(statements, 1):
        if isinstance(last, Result):
            show(last)
        last = _execute(target, statement, fmt, params)
        if not isinstance(last, Result):
            _print(last, fmt, args.output if i == len(statements) else None)
    if args.output is not None:
        namespace[args.output] = last
    return last if isinstance(last, Result) else None


def _execute(target: targets.Local | targets.Remote, statement: str, fmt: str | None,
             params: Mapping[str, str]) -> Result | str | bytes:
    from loader import AsyncLoadError
    from sqlbridge.endpoint.client import ServerError, Unreachable
    from sqlbridge.errors import QueryError

    try:
        return target.execute(statement, fmt, params)
    except QueryError as e:
        raise QueryFailed(str(e), e.code) from None
    except ServerError as e:
        raise QueryFailed(e.text, e.code) from None
    except Unreachable as e:  # nothing ran: say where nothing answered and what to start
        raise QueryFailed(f"Error: {e.advice('--connect')}") from None
    except AsyncLoadError as e:  # a loader's snapshot failing, say
        raise QueryFailed(str(e)) from None


def _print(output: str | bytes, fmt: str | None, stored_in: str | None) -> None:
    """Text as it is; binary output as a note of its size and where it went (-o VAR)."""
    if isinstance(output, bytes):
        name = fmt or _binary_format(output)
        where = f"in {stored_in}" if stored_in else "keep them with -o VAR"
        print(f"({name} output: {len(output)} bytes; {where})")
    else:
        sys.stdout.write(output)
        sys.stdout.flush()


def _binary_format(data: bytes) -> str:
    """The format a ``FORMAT`` clause asked for, from its magic bytes."""
    if data.startswith(b"PAR1"):
        return "Parquet"
    if data.startswith(b"ARROW1"):
        return "Arrow"
    return "ArrowStream" if data.startswith(targets.ARROW_STREAM_MAGIC) else "binary"


def _params(items: list[str]) -> dict[str, str]:
    from sqlbridge.errors import QueryError
    from sqlbridge.params import parse_assignments

    try:
        return parse_assignments(items)
    except QueryError as e:
        raise usage(f"--param: {e.message}") from None


def _format(name: str | None, *, remote: bool) -> str | None:
    if name is None or remote:  # a server knows its own formats (a real ClickHouse has more)
        return name
    from sqlbridge.errors import QueryError
    from sqlbridge.formats import canonical_format

    try:
        return canonical_format(name)
    except QueryError as e:
        raise usage(f"--format: {e.message}") from None

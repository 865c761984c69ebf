"""Running SQL text for the CLI: split, fill parameters, run, write, and map errors to exits.

Shared by ``asl sql`` and ``asl query`` so both behave like clickhouse-client: statements run
in order, each result is written as soon as it is ready, and the first error stops the script
with ``Code: N. DB::Exception: ...`` on stderr and exit code 1.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping
from typing import Any

import click


def default_format(explicit: str | None, preferred: str | None = None) -> str:
    """``--format``, else the query's preference, else PrettyCompact on a terminal, else TSV."""
    if explicit:
        return explicit
    if preferred:
        return preferred
    from cli.source import output_is_terminal

    return "PrettyCompact" if output_is_terminal() else "TabSeparated"


def check_format(name: str) -> str:
    """The canonical name of an output format, or a usage error listing the known ones."""
    from sqlbridge.errors import QueryError
    from sqlbridge.formats import canonical_format

    try:
        return canonical_format(name)
    except QueryError as e:
        raise click.BadParameter(e.message, param_hint="'--format'") from None


def write(result: str | bytes) -> None:
    """Write ``result`` to stdout now; if stdout cannot take it, end the command cleanly.

    A closed pipe (``asl sql ... | head -1``) ends it quietly with exit 1, as click does for
    ``echo``; any other write error (a full disk, ``> /dev/full``) prints one line and exits 1.
    Either way no Python traceback, and nothing is left buffered to fail again at exit.
    """
    try:
        if isinstance(result, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(result)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(result)
            sys.stdout.flush()
    except OSError as e:
        _stdout_failed(e)


def _stdout_failed(error: OSError) -> None:
    ctx = click.get_current_context(silent=True)
    discard_stdout()
    if error.errno != errno.EPIPE:
        name = f"asl {ctx.info_name}" if ctx is not None and ctx.info_name else "asl"
        click.echo(f"{name}: cannot write the output: {error.strerror or error}", err=True)
    if ctx is not None:
        ctx.exit(1)
    sys.exit(1)


def discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that the final flush at exit cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def run_script(
    source: Any,
    text: str,
    *,
    format_name: str,
    dialect: str = "clickhouse",
    time_zone: str | None = None,
    params: Mapping[str, str] | None = None,
) -> int:
    """Run every statement of ``text``; return the exit code (0, or 1 on a query error)."""
    import sqlbridge
    from loader import AsyncLoadError
    from sqlbridge.errors import QueryError
    from sqlbridge.params import substitute

    try:
        db = sqlbridge.connect(source, dialect=dialect, time_zone=time_zone)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--time-zone'") from None
    try:
        statements = db.statements(text)
        if not statements:
            raise click.UsageError("No SQL statement given (the text is empty or only comments)")
        for statement in statements:
            write(db.run(substitute(statement, params or {}, dialect), format=format_name))
    except (QueryError, AsyncLoadError) as e:
        click.echo(str(e), err=True)
        return 1
    finally:
        db.close()
    return 0

"""Running SQL text for the CLI: split, fill parameters, run, write, and map errors to exits.

Shared by ``asl sql`` and ``asl query`` so both behave like clickhouse-client: statements run
in order, each result is written as soon as it is ready, and the first error stops the script
with ``Code: N. DB::Exception: ...`` on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlbridge.source import JobSource


def default_format(explicit: str | None, preferred: str | None = None) -> str:
    """``--format``, else the query's preference, else PrettyCompact on a terminal, else TSV."""
    if explicit:
        return explicit
    if preferred:
        return preferred
    from cli.output import output_is_terminal

    return "PrettyCompact" if output_is_terminal() else "TabSeparated"


def check_format(name: str) -> str:
    """The canonical name of an output format, or a usage error listing the known ones."""
    from sqlbridge.errors import QueryError
    from sqlbridge.formats import canonical_format

    try:
        return canonical_format(name)
    except QueryError as e:
        raise click.BadParameter(e.message, param_hint="'--format'") from None


def run_script(
    source: JobSource,
    text: str,
    *,
    format_name: str,
    dialect: str = "clickhouse",
    time_zone: str | None = None,
    params: Mapping[str, str] | None = None,
) -> int:
    """Run every statement of ``text``; return the exit code (0, or 1 on a query error)."""
    import sqlbridge
    from cli.output import write
    from loader import AsyncLoadError
    from sqlbridge.errors import QueryError, UnknownTimeZone

    try:
        db = sqlbridge.connect(source, dialect=dialect, time_zone=time_zone)
    except UnknownTimeZone as e:
        raise click.BadParameter(e.message, param_hint="'--time-zone'") from None
    try:
        statements = db.split(text)
        if not statements:
            raise click.UsageError("No SQL statement given (the text is empty or only comments)")
        for statement in statements:
            write(db.execute(statement, params=params, format=format_name).render())
    except (QueryError, AsyncLoadError) as e:
        click.echo(str(e), err=True)
        return 1
    finally:
        db.close()
    return 0

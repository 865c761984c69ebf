"""``--connect URL``: the commands' side of the HTTP client (``sqlbridge.endpoint.client``).

The client itself (connection, requests, errors, splitting a script) lives in ``sqlbridge``;
this module holds what belongs to the command line: ``--param`` checked as a usage error,
``Unreachable`` as exit 2, and running a script with each answer written to stdout as it
arrives. Options become what ClickHouse's HTTP interface understands: ``--format`` is
``default_format`` (a ``FORMAT`` clause still wins), ``--time-zone`` is the ``session_timezone``
setting, ``--dialect duckdb`` the ``dialect`` setting, ``--param`` the ``param_NAME``
parameters, and the token goes in ``X-ClickHouse-Key``.

Exit codes: an error answer is the server's ``Code: N. ...`` text on stderr and exit 1, as for a
local query. No answer at all (connection refused, no such socket, unknown host, connect
time-out) is one line, ``Error: Code: 210. DB::NetException: Connection refused (...)``, and
exit 2: nothing ran, and what must change is the command line (``--connect``/``ASL_URL``) or
the server, not the query. A connection lost or timed out *after* the request was sent is
exit 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlbridge.endpoint.client import Client

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class NoServer(click.ClickException):
    """No server answered at the URL: a usage error (exit 2), printed as one line."""

    exit_code = 2


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--param name=value`` pairs, checked as ``sqlbridge.params.parse_assignments`` checks
    them (that module imports pyarrow and sqlglot, which ``--connect`` does without)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _IDENTIFIER.fullmatch(name):
            raise click.BadParameter(f"Query parameter must be given as name=value, got {item!r}",
                                     param_hint="'--param'")
        out[name] = value
    return out


def run_script(client: Client, text: str, *, format_name: str, dialect: str = "clickhouse",
               time_zone: str | None = None, params: Mapping[str, str] | None = None) -> int:
    """Like ``cli.run.run_script`` for a local source: every statement in order, each answer
    written as it arrives; the first error stops the script (exit code 1)."""
    from cli.output import write
    from sqlbridge.endpoint.client import ServerError, split_script
    from sqlbridge.errors import QueryError

    settings = {"default_format": format_name}
    if time_zone:
        settings["session_timezone"] = time_zone
    if dialect != "clickhouse":
        settings["dialect"] = dialect
    try:
        statements = split_script(text, dialect)
    except QueryError as e:  # an unterminated string, say
        click.echo(str(e), err=True)
        return 1
    if not statements:
        raise click.UsageError("No SQL statement given (the text is empty or only comments)")
    for statement in statements:
        try:
            client.execute(statement, settings=settings, params=params, write=write)
        except ServerError as e:
            sys.stdout.flush()
            click.echo(e.text, err=True)
            return 1
    return 0

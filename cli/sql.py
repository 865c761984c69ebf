"""``asl sql``: ClickHouse SQL over the loader's live state, like ``clickhouse-client -q``."""

from __future__ import annotations

import sys

import click

from cli.source import check_source, open_source, remote_url, run_statements, source_options

EPILOG = """\b
Examples:
  asl sql --demo "SELECT status, count() FROM system.asynchronous_loader GROUP BY status"
  asl sql --demo "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1"
  asl sql --demo "SELECT job, elapsed FROM system.asynchronous_loader
                  WHERE is_executing" --format JSONEachRow
  asl sql --demo "SELECT job FROM system.asynchronous_loader WHERE job LIKE {p:String}" \\
          --param p='load table %'
  echo "SELECT 1; SELECT 2" | asl sql --demo -
  asl sql --demo --dialect duckdb "SELECT * FROM system.asynchronous_loader USING SAMPLE 3"
  asl sql --connect http://127.0.0.1:8123 "SELECT status, count() FROM
                  system.asynchronous_loader GROUP BY status"    # an asl demo --serve, say
\b
Exit codes: 0 ok, 1 query error (Code: N. DB::Exception: ... on stderr), 2 usage error
(with --connect: also no server answering at URL).
The default format is PrettyCompact on a terminal and TabSeparated otherwise.
With --connect the server runs the SQL and checks --format and --time-zone (an unknown one
is its error: exit 1); the token comes from --token or ASL_TOKEN.
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("query", required=False, metavar="QUERY")
@source_options
@click.option("-f", "--format", "format_name", metavar="FORMAT",
              help="Output format (TabSeparated, PrettyCompact, Vertical, JSON, CSV, ...).")
@click.option("--dialect", type=click.Choice(["clickhouse", "duckdb"]), default="clickhouse",
              show_default=True, help="SQL dialect of QUERY.")
@click.option("--time-zone", "time_zone", metavar="TZ",
              help="Time zone for times in the output (default: the local zone; with "
                   "--connect, the server's).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A value for a {NAME:Type} placeholder (also --param_NAME=VALUE).")
@click.pass_context
def sql(ctx: click.Context, query: str | None, format_name: str | None, dialect: str,
        time_zone: str | None, params: tuple[str, ...], **source: object) -> None:
    """Run QUERY (several ;-separated statements run in order; - reads them from stdin).

    Every statement sees a fresh, consistent snapshot of system.asynchronous_loader and
    system.asynchronous_loader_pools.
    """
    check_source(ctx, source, '"SELECT * FROM system.asynchronous_loader LIMIT 5"')
    text = _read_query(query)
    if not text.strip():
        raise click.UsageError("No SQL given: QUERY is empty")
    from cli.run import default_format

    if remote_url(source):
        # The server knows the formats and zones; checking them here would import pyarrow.
        from cli.remote import parse_params

        fmt, values = default_format(format_name), parse_params(params)
    else:
        fmt, values = _local_options(format_name, params)
    with open_source(source) as src:
        code = run_statements(src, text, format_name=fmt, dialect=dialect, time_zone=time_zone,
                              params=values)
    ctx.exit(code)


def _local_options(format_name: str | None, params: tuple[str, ...]) -> tuple[str, dict]:
    from cli.run import check_format, default_format
    from sqlbridge.errors import QueryError
    from sqlbridge.params import parse_assignments

    fmt = check_format(default_format(format_name))
    try:
        return fmt, parse_assignments(params)
    except QueryError as e:
        raise click.BadParameter(e.message, param_hint="'--param'") from None


def _read_query(query: str | None) -> str:
    if query == "-":
        return sys.stdin.read()
    if query is None:
        if sys.stdin is not None and not sys.stdin.isatty():
            return sys.stdin.read()
        raise click.UsageError("Missing QUERY: give the SQL as an argument, or - to read it "
                               "from stdin (asl sql --help has examples)")
    return query

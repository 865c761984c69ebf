"""``asl query``: run a saved diagnostic query from ``queries/`` by name."""

from __future__ import annotations

import click

from cli.source import check_source, open_source, remote_url, run_statements, source_options

EPILOG = """\b
Examples:
  asl query --list                         # every saved query and what it answers
  asl query --demo blocked                 # blocked jobs and what blocks them
  asl query --demo failures --format Vertical
  asl query --demo job --param job='load table default.hits'
  asl query --demo dependencies --param_job='startup Ordinary database logs'
  asl query --show ready_queue             # print the SQL, to copy and adapt
  asl query --connect http://127.0.0.1:8123 blocked   # against a running endpoint
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the saved queries and exit.")
@click.option("--show", is_flag=True, help="Print the query's SQL instead of running it.")
@source_options
@click.option("-f", "--format", "format_name", metavar="FORMAT",
              help="Output format (default: the query's own, else PrettyCompact on a "
                   "terminal and TabSeparated otherwise).")
@click.option("--time-zone", "time_zone", metavar="TZ",
              help="Time zone for times in the output (default: the local zone).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A value for the query's {NAME:Type} placeholder (also --param_NAME=VALUE).")
@click.pass_context
def query(ctx: click.Context, name: str | None, list_: bool, show: bool,
          format_name: str | None, time_zone: str | None, params: tuple[str, ...],
          **source: object) -> None:
    """Run the saved diagnostic query NAME (queries/NAME.sql)."""
    import queries

    if list_:
        _list(queries.all_queries())
        return
    if not name:
        raise click.UsageError("Missing NAME: which saved query? (asl query --list shows them)")
    try:
        saved = queries.load(name)
    except queries.UnknownQuery as e:
        raise click.BadParameter(str(e), param_hint="'NAME'") from None
    if show:
        click.echo(saved.sql, nl=not saved.sql.endswith("\n"))
        return
    check_source(ctx, source, saved.name)
    if remote_url(source):
        # The server fills the parameters and renders: nothing heavy is imported here.
        from cli.remote import parse_params
        from cli.run import default_format

        fmt, values = default_format(format_name, saved.default_format), parse_params(params)
        with open_source(source) as src:
            ctx.exit(run_statements(src, saved.sql, format_name=fmt, time_zone=time_zone,
                                    params=values))
    from cli.run import check_format, default_format
    from sqlbridge.errors import QueryError
    from sqlbridge.params import parse_assignments, substitute

    fmt = check_format(default_format(format_name, saved.default_format))

    try:
        values = parse_assignments(params)
    except QueryError as e:
        raise click.BadParameter(e.message, param_hint="'--param'") from None
    try:
        substitute(saved.sql, values)  # a missing or ill-typed parameter fails before start-up
    except QueryError as e:
        click.echo(str(e), err=True)
        ctx.exit(1)
    with open_source(source) as src:
        code = run_statements(src, saved.sql, format_name=fmt, time_zone=time_zone,
                              params=values)
    ctx.exit(code)


def _list(saved: list) -> None:
    width = max(len(q.name) for q in saved)
    for q in saved:
        params = " ".join(f"--param {n}=<{t}>" for n, t in q.parameters)
        click.echo(f"{q.name:<{width}}  {q.purpose}" + (f"  [{params}]" if params else ""))

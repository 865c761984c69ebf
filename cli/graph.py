"""``asl graph``: ClickHouse's ``utils/async_loader_graph`` (DOT, SVG through Graphviz ``dot``).

Argument parsing only: the drawing is ``sqlbridge.graph`` (shared with the HTTP endpoint and
notebooks) and the rendering is Graphviz's ``dot`` program, run as a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import click

from cli.jobfilters import check_job_filters, job_filter_options
from cli.output import check_writable, file_format, write_output
from cli.source import check_source, open_source, remote_url, source_options

EPILOG = """\b
Examples:
  asl graph --demo -o startup.svg                 # every job, as async_loader_graph draws it
  asl graph --demo --collapse -o overview.png     # one node per database and kind of job
  asl graph --demo --database logs -o logs.svg
  asl graph --demo --job 'startup table billing.orders' --direction dependencies
  asl graph --demo --status FAILED --status CANCELED -f dot > failures.dot
  asl graph --connect http://127.0.0.1:8123 --collapse -o live.svg   # a running endpoint
\b
Shape by pool (box ForegroundLoad, hexagon BackgroundLoad, ellipse BackgrndStartup), fill by
status (white PENDING, green OK, red FAILED, dark red CANCELED), border by state (black
finished, blue blocked, orange ready, yellow executing); arrows point from a job to its
dependencies.  Graphs above --max-jobs are cut, and the picture says so.  SVG, PNG and PDF
need Graphviz's dot (apt-get install graphviz, brew install graphviz); DOT does not.
"""

_FORMATS = ("dot", "svg", "png", "pdf")
_EXTENSIONS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@source_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE (default: stdout); its extension (.dot/.gv, .svg, .png, "
                   ".pdf) picks the format, unless -f is given.")
@click.option("-f", "--format", "format_name", type=click.Choice(_FORMATS, case_sensitive=False),
              help="Output format (default: from -o's extension, else svg).")
@job_filter_options()
@click.option("--max-jobs", type=click.IntRange(min=1), default=500, show_default=True,
              help="Draw at most this many jobs (executing, ready, blocked, failed first).")
@click.option("--collapse", is_flag=True,
              help="One node per database and kind of job, with counts: an overview.")
@click.option("--no-legend", is_flag=True, help="Leave out the legend.")
@click.option("--cluster/--no-cluster", default=None,
              help="Box each database's jobs (default: when there are several databases).")
@click.pass_context
def graph(ctx: click.Context, output: str | None, format_name: str | None, job: str | None,
          direction: str, depth: int | None, databases: tuple[str, ...],
          statuses: tuple[str, ...], max_jobs: int, collapse: bool, no_legend: bool,
          cluster: bool | None, **source: object) -> None:
    """Draw the job graph of system.asynchronous_loader."""
    check_source(ctx, source, "-o startup.svg")
    check_job_filters(ctx, job, "graph", depth=depth, direction=direction)
    fmt = file_format(ctx, output, format_name, _EXTENSIONS,
                      "dot (.dot or .gv), svg, png and pdf", "svg")
    if output is not None:
        check_writable(ctx, "asl graph", output)  # before the start-up, not after
    dot = None
    if fmt != "dot":
        dot = shutil.which("dot")
        if dot is None:
            click.echo(
                f"asl graph: Graphviz's `dot` program is not on PATH, and {fmt.upper()} output "
                "needs it. Install Graphviz (apt-get install graphviz, brew install graphviz, "
                "conda install graphviz), or write DOT instead: --format dot or -o FILE.dot",
                err=True)
            ctx.exit(1)
    if output is None and fmt in ("png", "pdf") and sys.stdout.isatty():
        raise click.UsageError(f"Refusing to write {fmt.upper()} to a terminal; use -o FILE")
    from sqlbridge.graph import select_jobs, to_dot

    with open_source(source, latest_only=True) as src:  # a history: its latest run
        table = src.snapshot()
    try:
        selection = select_jobs(
            table, job=job, direction=direction, depth=depth,
            database=list(databases) or None, status=[s.upper() for s in statuses] or None,
            max_jobs=None if collapse else max_jobs)
    except LookupError as e:
        raise click.BadParameter(str(e).strip("'\""), param_hint="'--job'") from None
    if selection.capped_from is not None:
        click.echo(f"asl graph: {selection.capped_from} jobs selected, drawing {max_jobs} "
                   "(--max-jobs); for all of them try --collapse, or narrow with --database, "
                   "--job or --status", err=True)
    url = remote_url(source)
    title = f"asl {url}" if url else f"asl demo (seed {source.get('seed')})"
    text = to_dot(selection, collapse=collapse, legend=not no_legend, cluster=cluster,
                  title=title)
    data = text.encode()
    if dot is not None:
        try:
            done = subprocess.run([dot, f"-T{fmt}"], input=data, capture_output=True,
                                  timeout=300, check=False)
        except subprocess.TimeoutExpired:
            click.echo("asl graph: dot took more than 300 s; narrow the graph (--job, "
                       "--database, --status, --max-jobs) or use --collapse", err=True)
            ctx.exit(1)
        if done.returncode != 0:
            click.echo(f"asl graph: dot failed (exit {done.returncode}): "
                       f"{done.stderr.decode(errors='replace').strip()}", err=True)
            ctx.exit(1)
        data = done.stdout
    write_output(ctx, "asl graph", output, data, fmt)

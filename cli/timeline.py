"""``asl timeline``: a Gantt chart of when every job ran, per pool and worker.

Argument parsing only: the model and the renderers are ``sqlbridge.timeline`` (shared with
notebooks).  The filters are ``asl graph``'s, plus a time window.
"""

from __future__ import annotations

import click

from cli.jobfilters import check_job_filters, job_filter_options
from cli.output import check_writable, file_format, write_output
from cli.source import check_source, open_source, remote_url, source_options

EPILOG = """\b
Examples:
  asl timeline --demo -o startup.html            # hover a bar for its job's row
  asl timeline --demo -o startup.svg
  asl timeline --demo -o startup.json            # Chrome trace: ui.perfetto.dev, chrome://tracing
  asl timeline --demo --database logs --since 0.02 --until 0.08 -o logs.svg
  asl timeline --demo --job 'startup table billing.orders' --direction dependencies -o why.html
  asl timeline --connect http://127.0.0.1:8123 -o live.html
\b
One lane per worker, grouped by pool in priority order; a bar per job from start to finish,
filled by status (green OK, orange FAILED, brown CANCELED, yellow still running); a grey whisker
from a job's enqueue to its start (its wait in the ready queue) and the queue's depth above each
pool; a purple triangle where a job's pool was raised while it ran (a boost); the critical path
(the chain of dependencies that ended last) outlined in blue and repeated on a lane of its own.
--since/--until take seconds since the first job was scheduled (0.5) or a time
(2026-12-02 14:00:01.5, UTC unless it carries an offset).
"""

_FORMATS = ("svg", "html", "json")
_EXTENSIONS = {".svg": "svg", ".html": "html", ".htm": "html", ".json": "json"}


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@source_options
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write to FILE (default: stdout); its extension (.svg, .html, .json) picks "
                   "the format, unless -f is given.")
@click.option("-f", "--format", "format_name", type=click.Choice(_FORMATS, case_sensitive=False),
              help="svg, html (self-contained, hover shows a job's row) or json (Chrome "
                   "trace events). Default: from -o's extension, else svg.")
@job_filter_options(status_help="Only jobs with this status (repeatable; PENDING: still running).")
@click.option("--since", metavar="WHEN",
              help="Start of the time window: seconds since the first job was scheduled, or a "
                   "time.")
@click.option("--until", metavar="WHEN", help="End of the time window (as --since).")
@click.option("--width", type=click.IntRange(min=640, max=20000), default=1600,
              show_default=True, help="Width of the chart in pixels (svg, html).")
@click.option("--no-legend", is_flag=True, help="Leave out the legend.")
@click.pass_context
def timeline(ctx: click.Context, output: str | None, format_name: str | None, job: str | None,
             direction: str, depth: int | None, databases: tuple[str, ...],
             statuses: tuple[str, ...], since: str | None, until: str | None, width: int,
             no_legend: bool, **source: object) -> None:
    """Draw when every job ran: a Gantt chart per pool and worker (SVG, HTML, Chrome trace)."""
    check_source(ctx, source, "-o startup.html")
    check_job_filters(ctx, job, "timeline", depth=depth, direction=direction)
    if output == "-":
        output = None
    fmt = file_format(ctx, output, format_name, _EXTENSIONS,
                      "svg, html and json (a Chrome trace)", "svg")
    for name, value in (("--since", since), ("--until", until)):
        _check_when(ctx, name, value)  # before the start-up, not after
    if output is not None:
        check_writable(ctx, "asl timeline", output)  # before the start-up, not after
    from sqlbridge.timeline import build_timeline
    from sqlbridge.timeline.sources import timeline_table

    with open_source(source) as src:
        table = timeline_table(src)
    try:
        tl = build_timeline(
            table, job=job, direction=direction, depth=depth,
            database=list(databases) or None, status=[s.upper() for s in statuses] or None,
            since=since, until=until)
    except LookupError as e:
        raise click.BadParameter(str(e).strip("'\""), param_hint="'--job'") from None
    except ValueError as e:
        raise click.UsageError(str(e), ctx) from None
    if not tl.bars:
        click.echo(f"asl timeline: no job of the {tl.selected} selected ran in the window; "
                   "the chart is empty (widen the filters or the window)", err=True)
    url = remote_url(source)
    history = source.get("history_file")
    if isinstance(history, (tuple, list)):
        history = " ".join(map(str, history))
    if url:
        title = f"asl {url}"
    elif history and not source.get("demo"):
        title = f"asl history {history}"
    else:
        title = f"asl demo (seed {source.get('seed')})"
    text = _render(tl, fmt, title=title, width=width, legend=not no_legend)
    data = text.encode()
    write_output(ctx, "asl timeline", output, data, fmt,
                 f"{len(tl.bars)} job{'' if len(tl.bars) == 1 else 's'} in "
                 f"{len(tl.lanes)} lane{'' if len(tl.lanes) == 1 else 's'}")


def _render(tl: object, fmt: str, *, title: str, width: int, legend: bool) -> str:
    if fmt == "svg":
        from sqlbridge.timeline.svg import to_svg

        return to_svg(tl, title=title, width=width, legend=legend)  # type: ignore[arg-type]
    if fmt == "html":
        from sqlbridge.timeline.html import to_html

        return to_html(tl, title=title, width=width)  # type: ignore[arg-type]
    from sqlbridge.timeline.trace import to_trace

    return to_trace(tl, title=title)  # type: ignore[arg-type]


def _check_when(ctx: click.Context, name: str, value: str | None) -> None:
    from sqlbridge.timeline.model import parse_when

    try:
        parse_when(value, 0)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param_hint=f"'{name}'") from None

"""asl timeline over a ~5,000-job start-up: the model and each rendering, against the job graph
(``sqlbridge.graph.to_dot``, what ``asl graph -f dot`` draws) of the same table in the same run."""

from __future__ import annotations

from loader import AsyncLoader
from loader.demo import Startup, StartupConfig, server_pools
from sqlbridge.graph import to_dot
from sqlbridge.timeline import build_timeline, to_svg
from sqlbridge.timeline.html import to_html
from sqlbridge.timeline.sources import timeline_table
from sqlbridge.timeline.trace import to_trace

from .common import Figure, interleaved_medians


def _startup(tables: int):
    """The demo start-up run to its end with jobs that take no time; its table with lanes."""
    loader = AsyncLoader(server_pools(4), log_failures=False)
    try:
        startup = Startup(loader, StartupConfig(seed=3, tables=tables, time_scale=0.0))
        startup.load_system()
        startup.schedule_async()
        loader.wait_all(timeout=600)
        return timeline_table(loader)
    finally:
        loader.shutdown()


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    table = _startup(max(5, int(2400 * scale)))
    n = table.num_rows
    svg, html, trace, dot = interleaved_medians([
        (lambda: to_svg(build_timeline(table)), None),
        (lambda: to_html(build_timeline(table)), None),
        (lambda: to_trace(build_timeline(table)), None),
        (lambda: to_dot(table, max_jobs=None), None),
    ], repeat)
    peer = "asl graph's DOT of the same jobs"
    return [
        Figure(f"timeline SVG of {n} jobs", svg * 1e3, "ms", peer, dot * 1e3, "<= 2 s",
               svg <= 2),
        Figure("  timeline HTML page (SVG + every row)", html * 1e3, "ms", peer, dot * 1e3,
               "<= 3 s", html <= 3),
        Figure("  timeline Chrome trace JSON", trace * 1e3, "ms", peer, dot * 1e3, "<= 3 s",
               trace <= 3),
    ]

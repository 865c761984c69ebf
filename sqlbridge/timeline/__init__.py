"""``asl timeline``: where a start-up's time went, as a Gantt chart of jobs per pool and worker.

``model.build_timeline`` turns a job table (``system.asynchronous_loader``'s columns, plus
``worker`` when the source records it) into lanes, bars, waits, boosts and the critical path;
``svg``, ``html`` and ``trace`` render that one model as a self-contained SVG, a self-contained
HTML page (hover shows a job's row) and Chrome trace-event JSON (Perfetto, chrome://tracing).
``chart(source, ...)`` does it all for a loader, an endpoint or a table, and displays inline in
a notebook (``%asl_timeline`` is the magic for it).
"""

from .chart import Chart, chart
from .model import Bar, Lane, PoolGroup, Timeline, build_timeline
from .svg import to_svg

__all__ = ["Bar", "Chart", "Lane", "PoolGroup", "Timeline", "build_timeline", "chart", "to_svg"]

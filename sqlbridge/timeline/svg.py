"""A timeline as a self-contained SVG Gantt chart (no script, no external reference).

Layout, top to bottom: a title and caption, the legend, a time axis, then one group per pool in
priority order: a header (workers, how busy), the pool's ready-queue depth as a step area, and
one lane per worker with a bar per job.  A bar's fill is its status; a grey whisker under it
runs from the job's enqueue to its start (its wait in the ready queue); a purple triangle marks a
job whose pool was raised while it ran in a lower one (a boost); blue outlines and dashed links
are the critical path.  Every bar has a ``<title>`` (the tooltip SVG viewers show on hover) and
``data-job`` (its job_id, which the HTML page uses).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .model import Bar, Timeline

__all__ = ["to_svg", "STATUS_FILLS", "layout_width"]

STATUS_FILLS = {"OK": "#74c476", "FAILED": "#e6550d", "CANCELED": "#8c2d04",
                "PENDING": "#fdd835", "INTERRUPTED": "#9e9e9e"}
_STATUS_LABELS = {"OK": "OK", "FAILED": "FAILED", "CANCELED": "CANCELED",
                  "PENDING": "running", "INTERRUPTED": "interrupted"}
_CRITICAL = "#1f4fd6"
_BOOST = "#8e24aa"
_FONT = "Helvetica, Arial, sans-serif"
_LABEL_W = 200  # left column: pool and worker names
_RIGHT = 24
_CHAR_W = 6.1  # average width of a 10px Helvetica character, for fitting labels

_STYLE = f"""
text {{ font-family: {_FONT}; fill: #222; }}
.title {{ font-size: 17px; font-weight: bold; }}
.caption {{ font-size: 12px; fill: #444; }}
.tick {{ font-size: 10px; fill: #555; }}
.grid {{ stroke: #e3e3e3; stroke-width: 1; }}
.pool {{ font-size: 13px; font-weight: bold; }}
.poolinfo {{ font-size: 11px; fill: #555; }}
.lanelabel {{ font-size: 10px; fill: #555; }}
.lanebg0 {{ fill: #fafafa; }} .lanebg1 {{ fill: #f2f2f2; }}
.queue {{ fill: #ffcc80; stroke: #ef6c00; stroke-width: 0.8; }}
.bar {{ stroke: #333; stroke-width: 0.4; }}
.bar.thin {{ stroke: none; }}
.bar.crit {{ stroke: {_CRITICAL}; stroke-width: 2; }}
.barlabel {{ font-size: 10px; fill: #111; pointer-events: none; }}
.wait {{ stroke: #777; stroke-width: 1.5; opacity: 0.45; }}
.critlink {{ stroke: {_CRITICAL}; stroke-width: 1.3; stroke-dasharray: 4 3; fill: none; }}
.boost {{ fill: {_BOOST}; }}
.legend {{ font-size: 11px; }}
""" + "".join(f".s-{s} {{ fill: {c}; }}\n" for s, c in STATUS_FILLS.items())


def layout_width(width: int | None) -> int:
    return max(640, int(width or 1600))


def _nice_step(span_us: float, pixels: float) -> int:
    """A tick step of 1, 2 or 5 times a power of ten microseconds, about every 110 px."""
    raw = max(1.0, span_us / max(1.0, pixels / 110))
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def _seconds(us: float, step: int) -> str:
    digits = max(0, min(6, 6 - int(math.floor(math.log10(step))))) if step < 1_000_000 else 0
    return f"{us / 1e6:.{digits}f} s"


def duration_text(us: int) -> str:
    """A duration as people read it: 850 us, 12.5 ms, 3.21 s, 2 min 5 s."""
    if us < 1000:
        return f"{us} \u00b5s"
    if us < 1_000_000:
        return f"{us / 1000:.3g} ms"
    if us < 60_000_000:
        return f"{us / 1e6:.3g} s"
    return f"{us // 60_000_000} min {us % 60_000_000 / 1e6:.0f} s"


def tooltip(bar: Bar, timeline: Timeline) -> str:
    """What hovering a bar says: the job, its outcome, where and how long it ran and waited."""
    lane = timeline.lanes[bar.lane]
    state = "running" if bar.running else bar.status
    lines = [f"{bar.name} (job_id {bar.job_id})",
             f"{state}, ran {duration_text(bar.end - bar.start)} on {bar.execution_pool} "
             f"{lane.label}, from {_seconds(bar.start - timeline.t0, 1000)}"]
    if bar.enqueue is not None:
        lines.append(f"waited {duration_text(bar.wait)} in the ready queue")
    if bar.boosted:
        lines.append(f"pool raised to {bar.pool} while it ran in {bar.execution_pool}")
    if bar.critical:
        lines.append("on the critical path")
    exc = bar.exception
    if exc:
        lines.append(str(exc)[:300])
    return "\n".join(lines)


def to_svg(timeline: Timeline, *, title: str | None = None, width: int | None = None,
           legend: bool = True, inline: bool = False) -> str:
    """The SVG text of ``timeline``; ``inline`` leaves out the XML declaration (for HTML)."""
    tl = timeline
    width = layout_width(width)
    plot_x, plot_w = _LABEL_W, width - _LABEL_W - _RIGHT
    span = max(1, tl.end - tl.start)

    def x(t: int) -> float:
        return plot_x + (min(max(t, tl.start), tl.end) - tl.start) * plot_w / span

    n_lanes = len(tl.lanes)
    lane_h = 18 if n_lanes <= 40 else max(8, 720 // max(1, n_lanes))
    out: list[str] = []
    y = 26
    heading = title or "asl timeline"
    out.append(f'<text class="title" x="12" y="{y}">{escape(heading)}</text>')
    y += 20
    out.append(f'<text class="caption" x="12" y="{y}">{escape(caption(tl))}</text>')
    for note in tl.notes:
        y += 16
        out.append(f'<text class="caption" x="12" y="{y}">{escape(note)}</text>')
    if legend:
        y += 24
        out.extend(_legend(12, y))
    y += 22
    axis_top = y
    step = _nice_step(span, plot_w)
    first_tick = tl.t0 + math.ceil((tl.start - tl.t0) / step) * step
    ticks = list(range(first_tick, tl.end + 1, step))
    body: list[str] = []
    lane_y = [0.0] * n_lanes
    y += 12
    critical_row = _critical_row(tl, x, y, plot_x, plot_w)
    if critical_row:
        body.extend(critical_row)
        y += 20 + 22 + 14
    for group in tl.pools:
        busy = 100 * group.busy / (span * max(1, len(group.lanes)))
        workers = len(group.lanes)
        info = (f"priority {group.priority} \u00b7 {workers} worker{'s' if workers != 1 else ''}"
                f" \u00b7 busy {busy:.0f}%")
        body.append(f'<text class="pool" x="12" y="{y + 13}">{escape(group.name)}</text>')
        body.append(f'<text class="poolinfo" x="{plot_x}" y="{y + 13}">{escape(info)}</text>')
        y += 20
        body.extend(_queue_strip(group.queue, x, y, 22, plot_x, tl))
        y += 26
        for n, index in enumerate(group.lanes):
            lane = tl.lanes[index]
            body.append(f'<rect class="lanebg{n % 2}" data-lane="{escape(lane.pool)}/'
                        f'{lane.worker}" x="{plot_x}" y="{y}" width="{plot_w}" '
                        f'height="{lane_h}"/>')
            if lane_h >= 10:
                body.append(f'<text class="lanelabel" x="{plot_x - 8}" y="{y + lane_h - 4}" '
                            f'text-anchor="end">{escape(lane.label)}</text>')
            lane_y[index] = y
            y += lane_h
        y += 14
    lanes_bottom = y
    grid = [f'<line class="grid" x1="{x(t):.1f}" y1="{axis_top}" x2="{x(t):.1f}" '
            f'y2="{lanes_bottom}"/>' for t in ticks]
    axis = [f'<text class="tick" x="{x(t):.1f}" y="{axis_top - 4}" text-anchor="middle">'
            f'{escape(_seconds(t - tl.t0, step))}</text>' for t in ticks]
    axis += [f'<text class="tick" x="{x(t):.1f}" y="{lanes_bottom + 12}" '
             f'text-anchor="middle">{escape(_seconds(t - tl.t0, step))}</text>' for t in ticks]
    axis.append(f'<text class="tick" x="12" y="{axis_top - 4}">seconds since t0</text>')
    marks = _bars(tl, x, lane_h, lane_y)
    height = lanes_bottom + 28
    head = "" if inline else '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (f'{head}<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" class="asl-timeline">\n'
            f"<style>{_STYLE}</style>\n"
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>\n'
            + "\n".join(out + grid + axis + body + marks) + "\n</svg>\n")


def _critical_row(tl: Timeline, x, y: float, plot_x: float, plot_w: float) -> list[str]:
    """The critical path again on a lane of its own, so a dense chart still shows it whole:
    each job's bar, and a whisker for the time it waited after its dependency finished."""
    by_id = {b.job_id: b for b in tl.bars}
    path = [by_id[i] for i in tl.critical_path if i in by_id]
    if not path:
        return []
    info = (f"{len(path)} job{'s' if len(path) != 1 else ''} \u00b7 "
            f"{duration_text(tl.critical_length)}, the chain of dependencies that ended last")
    out = [f'<text class="pool" x="12" y="{y + 13}">critical path</text>',
           f'<text class="poolinfo" x="{plot_x}" y="{y + 13}">{escape(info)}</text>']
    top = y + 20
    out.append(f'<rect class="lanebg0" x="{plot_x}" y="{top}" width="{plot_w}" height="22"/>')
    for prev, bar in zip([None, *path], path, strict=False):
        x0, x1 = x(bar.start), x(bar.end)
        if prev is not None and x0 - x(prev.end) >= 1:
            out.append(f'<line class="wait" x1="{x(prev.end):.1f}" y1="{top + 11}" '
                       f'x2="{x0:.1f}" y2="{top + 11}"/>')
        status = "PENDING" if bar.running else bar.status
        status = status if status in STATUS_FILLS else "INTERRUPTED"
        w = max(1.0, x1 - x0)
        out.append(f'<rect class="cpbar bar crit s-{status}" data-job="{bar.job_id}" '
                   f'x="{x0:.1f}" y="{top + 3}" width="{w:.1f}" height="16">'
                   f"<title>{escape(tooltip(bar, tl))}</title></rect>")
        fits = int((w - 6) / _CHAR_W)
        if fits >= 8:
            name = bar.name if len(bar.name) <= fits else bar.name[:fits - 1] + "\u2026"
            out.append(f'<text class="barlabel" x="{x0 + 3:.1f}" y="{top + 15}">'
                       f"{escape(name)}</text>")
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def caption(tl: Timeline) -> str:
    parts = [f"{len(tl.bars)} of {_count(tl.total, 'job')} ran in "
             f"{_count(len(tl.lanes), 'lane')}"]
    if tl.selected != tl.total:
        parts[0] += f" ({tl.selected} selected)"
    if tl.not_started:
        parts.append("not started: " + ", ".join(f"{n} {k}" for k, n in tl.not_started.items()))
    parts.append(f"window {duration_text(tl.end - tl.start)}")
    if tl.critical_path:
        parts.append(f"critical path {duration_text(tl.critical_length)} "
                     f"({_count(len(tl.critical_path), 'job')})")
    import datetime as dt

    t0 = dt.datetime.fromtimestamp(tl.t0 / 1e6, dt.UTC)
    parts.append(f"t0 {t0:%Y-%m-%d %H:%M:%S.%f} UTC")
    return " \u00b7 ".join(parts)


def _legend(x0: float, y: float) -> list[str]:
    out: list[str] = []
    x = x0
    for status in ("OK", "FAILED", "CANCELED", "PENDING", "INTERRUPTED"):
        out.append(f'<rect class="bar s-{status}" x="{x}" y="{y - 10}" width="18" height="12"/>')
        label = _STATUS_LABELS[status]
        out.append(f'<text class="legend" x="{x + 23}" y="{y}">{label}</text>')
        x += 36 + len(label) * 7.2
    out.append(f'<line class="wait" x1="{x}" y1="{y - 3}" x2="{x + 26}" y2="{y - 3}"/>')
    out.append(f'<text class="legend" x="{x + 31}" y="{y}">wait in the ready queue</text>')
    x += 180
    out.append(f'<rect class="queue" x="{x}" y="{y - 10}" width="18" height="12"/>')
    out.append(f'<text class="legend" x="{x + 23}" y="{y}">ready-queue depth</text>')
    x += 140
    out.append(f'<rect class="bar crit s-OK" x="{x}" y="{y - 10}" width="18" height="12"/>')
    out.append(f'<path class="critlink" d="M{x + 18} {y - 4} h16"/>')
    out.append(f'<text class="legend" x="{x + 39}" y="{y}">critical path</text>')
    x += 125
    out.append(f'<path class="boost" d="M{x} {y - 11} h12 l-6 8 z"/>')
    out.append(f'<text class="legend" x="{x + 17}" y="{y}">'
               "pool raised while it ran (a boost)</text>")
    return out


def _queue_strip(steps: list[tuple[int, int]], x, y: float, h: float, plot_x: float,
                 tl: Timeline) -> list[str]:
    out = [f'<text class="lanelabel" x="{plot_x - 8}" y="{y + h - 6}" text-anchor="end">'
           "ready queue</text>"]
    # The peak within the window: the depth carried into it, and every step inside it.
    carried = [d for t, d in steps if t <= tl.start][-1:]
    peak = max(carried + [d for t, d in steps if tl.start < t <= tl.end], default=0)
    if peak == 0:
        out.append(f'<text class="lanelabel" x="{plot_x + 4}" y="{y + h - 6}">empty</text>')
        return out
    base = y + h
    depth = carried[0] if carried else 0
    points = [f"{x(tl.start):.1f},{base}", f"{x(tl.start):.1f},{base - depth * h / peak:.1f}"]
    for t, d in steps:
        if t <= tl.start:
            continue
        if t > tl.end:
            break
        px = x(t)
        points.append(f"{px:.1f},{base - depth * h / peak:.1f}")
        points.append(f"{px:.1f},{base - d * h / peak:.1f}")
        depth = d
    points.append(f"{x(tl.end):.1f},{base - depth * h / peak:.1f}")
    points.append(f"{x(tl.end):.1f},{base}")
    out.append(f'<polygon class="queue" points="{" ".join(points)}">'
               f"<title>ready queue: at most {peak} jobs in the window</title></polygon>")
    out.append(f'<text class="lanelabel" x="{x(tl.end) - 4}" y="{y + 9}" '
               f'text-anchor="end">max {peak}</text>')
    return out


def _bars(tl: Timeline, x, lane_h: int, lane_y: list[float]) -> list[str]:
    waits, rects, labels, links, boosts = [], [], [], [], []
    bar_h = max(4, lane_h - 5)
    by_id = {b.job_id: b for b in tl.bars}
    for bar in tl.bars:
        top = lane_y[bar.lane] + 2
        x0, x1 = x(bar.start), x(bar.end)
        if bar.enqueue is not None and bar.wait > 0:
            w0 = x(bar.enqueue)
            if x0 - w0 >= 1:
                waits.append(f'<line class="wait" x1="{w0:.1f}" y1="{top + bar_h + 1.5:.1f}" '
                             f'x2="{x0:.1f}" y2="{top + bar_h + 1.5:.1f}"/>')
        status = "PENDING" if bar.running else bar.status
        status = status if status in STATUS_FILLS else "INTERRUPTED"
        cls = f"bar s-{status}" + (" crit" if bar.critical else "")
        w = max(1.0, x1 - x0)
        if w < 3:  # an outline would hide a thin bar's colour
            cls += " thin"
        rects.append(f'<rect class="{cls}" data-job="{bar.job_id}" x="{x0:.1f}" y="{top}" '
                     f'width="{w:.1f}" height="{bar_h}"><title>{escape(tooltip(bar, tl))}'
                     "</title></rect>")
        fits = int((w - 6) / _CHAR_W)
        if lane_h >= 14 and fits >= 8:
            name = bar.name if len(bar.name) <= fits else bar.name[:fits - 1] + "\u2026"
            labels.append(f'<text class="barlabel" x="{x0 + 3:.1f}" y="{top + bar_h - 4}">'
                          f"{escape(name)}</text>")
        if bar.boosted:
            why = f"pool raised to {bar.pool} while it ran in {bar.execution_pool}"
            boosts.append(f'<path class="boost" d="M{x0 - 5:.1f} {top - 3} h10 l-5 7 z">'
                          f"<title>{escape(why)}</title></path>")
    path = [by_id[i] for i in tl.critical_path if i in by_id]
    for a, b in zip(path, path[1:], strict=False):
        ya = lane_y[a.lane] + 2 + bar_h / 2
        yb = lane_y[b.lane] + 2 + bar_h / 2
        links.append(f'<path class="critlink" d="M{x(a.end):.1f} {ya:.1f} '
                     f'L{x(b.start):.1f} {yb:.1f}"/>')
    return ['<g class="waits">'] + waits + ["</g>", '<g class="bars">'] + rects + ["</g>"] + \
        ['<g class="labels">'] + labels + ["</g>"] + links + boosts


"""A timeline as one self-contained HTML page: the SVG chart inline, every job's row as JSON, and
a small script (no library, no network) for what a static picture cannot do:

* hovering a bar shows its job's summary by the pointer; clicking pins the job's full row
  (every column of the source) in the panel below and outlines its dependencies;
* ``#job=ID`` in the address pins that job on load, so a link can point at one job;
* a search box highlights the jobs whose name contains the text and counts them.

When the script has run it sets ``data-ready="1"``, ``data-bars`` (bars laid out with a
width) and ``data-lanes`` on ``<body>``, which the headless-browser test reads.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from .model import Timeline
from .svg import to_svg

__all__ = ["to_html"]

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 12px; color: #222; }
#asl-tools { margin: 0 0 8px 0; font-size: 13px; }
#asl-tools input { font-size: 13px; padding: 2px 6px; width: 22em; }
#asl-chart { overflow-x: auto; }
#asl-chart svg { max-width: 100%; height: auto; }
#asl-tip { position: fixed; display: none; max-width: 560px; background: #fffff0;
  border: 1px solid #999; padding: 6px 8px; font-size: 12px; white-space: pre-wrap;
  pointer-events: none; box-shadow: 2px 2px 6px rgba(0,0,0,.2); z-index: 10; }
#asl-row { font-size: 12px; margin-top: 8px; }
#asl-row table { border-collapse: collapse; }
#asl-row td { border: 1px solid #ddd; padding: 2px 8px; vertical-align: top;
  font-family: monospace; white-space: pre-wrap; }
#asl-row td:first-child { font-weight: bold; font-family: Helvetica, Arial, sans-serif; }
svg .bar.pinned { stroke: #000; stroke-width: 2.5; }
svg .bar.dep { stroke: #d81b60; stroke-width: 2; }
svg.searching .bar:not(.match) { opacity: 0.2; }
"""

_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById('asl-data').textContent);
  var columns = data.columns, rows = data.rows;
  var svg = document.querySelector('#asl-chart svg');
  var tip = document.getElementById('asl-tip');
  var panel = document.getElementById('asl-row');
  var bars = Array.prototype.slice.call(svg.querySelectorAll('[data-job]'));
  var summary = {};
  bars.forEach(function (el) {
    var t = el.querySelector('title');
    if (t) { summary[el.getAttribute('data-job')] = t.textContent; t.remove(); }
  });
  function show(ev) {
    var id = ev.target.getAttribute('data-job');
    tip.textContent = summary[id] || ('job_id ' + id);
    tip.style.display = 'block';
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16;
    if (y + tip.offsetHeight > window.innerHeight) { y = ev.clientY - tip.offsetHeight - 8; }
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }
  function mark(cls, ids) {
    svg.querySelectorAll('.' + cls).forEach(function (el) { el.classList.remove(cls); });
    ids.forEach(function (id) {
      svg.querySelectorAll('.bar[data-job="' + id + '"]').forEach(function (el) {
        el.classList.add(cls);
      });
    });
  }
  function pin(id) {
    var row = rows[id];
    if (!row) { panel.textContent = 'no job with job_id ' + id + ' in this timeline'; return; }
    var table = document.createElement('table');
    columns.forEach(function (name, i) {
      var tr = document.createElement('tr');
      var k = document.createElement('td'), v = document.createElement('td');
      var value = row[i];
      k.textContent = name;
      v.textContent = value === null ? '\u1d3a\u1d41\u1d38\u1d38' :
        (typeof value === 'object' ? JSON.stringify(value) : String(value));
      tr.appendChild(k); tr.appendChild(v); table.appendChild(tr);
    });
    panel.innerHTML = '';
    var h = document.createElement('h3');
    h.textContent = row[columns.indexOf('job')] + ' (job_id ' + id + ')';
    panel.appendChild(h); panel.appendChild(table);
    mark('pinned', [id]);
    mark('dep', row[columns.indexOf('dependencies')] || []);
  }
  bars.forEach(function (el) {
    el.addEventListener('mousemove', show);
    el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    el.addEventListener('click', function () {
      var id = el.getAttribute('data-job');
      history.replaceState(null, '', '#job=' + id);
      pin(id);
    });
  });
  var search = document.getElementById('asl-search');
  var found = document.getElementById('asl-found');
  search.addEventListener('input', function () {
    var text = search.value.trim().toLowerCase();
    svg.classList.toggle('searching', text.length > 0);
    var n = 0, seen = {};
    bars.forEach(function (el) {
      var id = el.getAttribute('data-job');
      var name = String(rows[id] ? rows[id][columns.indexOf('job')] : '').toLowerCase();
      var hit = text.length > 0 && name.indexOf(text) >= 0;
      el.classList.toggle('match', hit);
      if (hit && !seen[id]) { seen[id] = 1; n += 1; }
    });
    found.textContent = text ? n + ' matching jobs' : '';
  });
  var m = /job=(\d+)/.exec(location.hash);
  if (m) { pin(m[1]); }
  var laidOut = svg.querySelectorAll('.bars .bar').length;
  var drawn = 0;
  svg.querySelectorAll('.bars .bar').forEach(function (el) {
    if (el.getBBox().width > 0) { drawn += 1; }
  });
  document.body.setAttribute('data-bars', String(drawn));
  document.body.setAttribute('data-bar-elements', String(laidOut));
  document.body.setAttribute('data-lanes', String(svg.querySelectorAll('[data-lane]').length));
  document.body.setAttribute('data-ready', '1');
})();
"""


def _script_json(value: object) -> str:
    """JSON safe inside ``<script>``: no ``</`` can close the element early."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def to_html(timeline: Timeline, *, title: str | None = None, width: int | None = None) -> str:
    """The page's text; it loads no resource, so it opens offline and from a mail."""
    heading = title or "asl timeline"
    rows = {str(b.job_id): [b.json_row.get(c) for c in timeline.columns]
            for b in timeline.bars}
    data = {"columns": timeline.columns, "rows": rows}
    svg = to_svg(timeline, title=heading, width=width, inline=True)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{escape(heading)}</title>\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        f"<style>{_CSS}</style></head>\n<body>\n"
        f"<div id=\"asl-tools\"><label>Find a job: <input id=\"asl-search\" type=\"search\" "
        f"placeholder=\"part of a name, e.g. load table\"></label> <span id=\"asl-found\"></span>"
        f" &middot; hover a bar for its job, click to pin its row</div>\n"
        f"<div id=\"asl-chart\">{svg}</div>\n"
        "<div id=\"asl-tip\"></div>\n"
        "<div id=\"asl-row\">Click a bar to see its job's row here.</div>\n"
        f"<script type=\"application/json\" id=\"asl-data\">{_script_json(data)}</script>\n"
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )

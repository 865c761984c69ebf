"""A timeline for notebooks and scripts: ``sqlbridge.timeline.chart(source, ...)``.

``source`` is a ``loader.AsyncLoader``, an endpoint ``Client``, a job table (``pa.Table``) or
anything ``sources.timeline_table`` reads.  The chart displays inline in Jupyter (the HTML
page in an ``<iframe srcdoc>``, so its script runs whatever the notebook's trust) and as SVG
elsewhere; ``save(path)`` writes svg, html or json by the extension.
"""

from __future__ import annotations

import html as html_escape
import os
import re
from typing import Any

import pyarrow as pa

from .html import to_html
from .model import Timeline, build_timeline
from .sources import timeline_table
from .svg import caption, layout_width, to_svg
from .trace import to_trace

__all__ = ["Chart", "chart"]

_FORMATS = {".svg": "svg", ".html": "html", ".htm": "html", ".json": "json"}


class Chart:
    """A rendered timeline: ``.timeline`` (the model), ``.svg()``, ``.html()``, ``.trace()``."""

    def __init__(self, timeline: Timeline, *, title: str | None = None,
                 width: int | None = None) -> None:
        self.timeline, self.title, self.width = timeline, title, width

    def svg(self) -> str:
        return to_svg(self.timeline, title=self.title, width=self.width)

    def html(self) -> str:
        return to_html(self.timeline, title=self.title, width=self.width)

    def trace(self) -> str:
        return to_trace(self.timeline, title=self.title)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write svg, html or json (a Chrome trace) by ``path``'s extension; the format."""
        extension = os.path.splitext(os.fspath(path))[1].lower()
        fmt = _FORMATS.get(extension)
        if fmt is None:
            raise ValueError(f"cannot write {extension or 'extension-less'!r} files: use .svg, "
                             ".html or .json (a Chrome trace)")
        text = {"svg": self.svg, "html": self.html, "json": self.trace}[fmt]()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return fmt

    def _repr_html_(self) -> str:
        page = self.html()
        m = re.search(r'<svg [^>]*height="(\d+)"', page)
        height = (int(m.group(1)) if m else 600) + 60
        return (f'<iframe srcdoc="{html_escape.escape(page, quote=True)}" '
                f'style="width: 100%; max-width: {layout_width(self.width) + 40}px; '
                f'height: {height}px; border: 1px solid #ddd;"></iframe>')

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return f"<asl timeline: {caption(self.timeline)}>"


def chart(source: Any, *, title: str | None = None, width: int | None = None,
          **filters: Any) -> Chart:
    """The timeline of ``source``'s jobs; ``filters`` as ``build_timeline`` takes them
    (``job``, ``direction``, ``depth``, ``database``, ``status``, ``since``, ``until``)."""
    table = source if isinstance(source, pa.Table) else timeline_table(source)
    return Chart(build_timeline(table, **filters), title=title, width=width)

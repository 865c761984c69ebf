"""What a cell shows: ``Result``, one statement's table, and the two ways a cell fails.

A result is a ``Result``: an HTML table in Jupyter, ClickHouse's PrettyCompact text in a
terminal, ``.arrow`` and ``.to_pandas()`` for code. The HTML table shows what Pretty shows: at
most ``MAX_ROWS`` rows (the first and the last half), each value cut at ``MAX_VALUE_CHARS``.

*Errors.* A failed statement raises ``QueryFailed``, whose ``_render_traceback_`` makes IPython
show only ``Code: N. DB::Exception: ...``: the cell fails (Run All stops) without a Python
traceback that would be about this package rather than the query. A bad option or a missing
loader is IPython's ``UsageError`` (``usage()``): one line.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Result", "QueryFailed", "usage", "MAX_ROWS", "MAX_VALUE_CHARS"]

#: Pretty's row limit (``output_format_pretty_max_rows``): the HTML table shows as many.
MAX_ROWS = 1000
#: Characters of one value shown in the HTML table (Pretty cuts at as many columns).
MAX_VALUE_CHARS = 10000


class Result:
    """One statement's result table, shown as ClickHouse shows it.

    ``.arrow`` is the ``pyarrow.Table`` (with ClickHouse types in its fields' metadata),
    ``.to_pandas()`` a DataFrame, ``.text`` the PrettyCompact text clickhouse-client prints
    (also the plain-text repr), and in Jupyter an HTML table (``_repr_html_``).
    """

    def __init__(self, table: pa.Table, *, statement: str = "",
                 time_zone: str | None = None) -> None:
        self.arrow = table
        self.statement = statement
        #: Zone the times are shown in (None: the process's local zone).
        self.time_zone = time_zone
        self._text: str | None = None

    @property
    def text(self) -> str:
        """``FORMAT PrettyCompact`` of the table, byte for byte (empty for no rows)."""
        if self._text is None:
            from sqlbridge.formats import render

            text = render(self.arrow, "PrettyCompact", time_zone=self.time_zone)
            assert isinstance(text, str)
            self._text = text
        return self._text

    @property
    def column_names(self) -> list[str]:
        return list(self.arrow.column_names)

    def __len__(self) -> int:
        return self.arrow.num_rows

    def to_pandas(self, **options: Any) -> Any:
        """The table as a ``pandas.DataFrame`` (``options`` go to ``pyarrow.Table.to_pandas``)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ImportError("Result.to_pandas() needs pandas (pip install pandas); "
                              "Result.arrow is the pyarrow.Table without it") from None
        return self.arrow.to_pandas(**options)

    def __repr__(self) -> str:
        # ClickHouse prints nothing for an empty result; a notebook's ``Out[n]:`` with nothing
        # after it looks like a hang, so say what clickhouse-client says on its status line.
        return self.text.rstrip("\n") or "0 rows in set."

    def _repr_html_(self) -> str:
        from sqlbridge.formats._columns import columns_of
        from sqlbridge.formats._serialize import serialize_column
        from sqlbridge.formats._time import zone
        from sqlbridge.formats.pretty import NULL

        table, n = self.arrow, self.arrow.num_rows
        rows = list(range(n))
        if n > MAX_ROWS:  # Pretty's rule: the first 500 rows and the last 500
            head, tail = (MAX_ROWS + 1) // 2, MAX_ROWS // 2
            rows = rows[:head] + rows[n - tail:]
            import pyarrow as pa

            table = pa.concat_tables([table.slice(0, head), table.slice(n - tail)])
        cols = columns_of(table)
        tz = zone(self.time_zone)
        values = [serialize_column(c, "pretty", tz, NULL).to_pylist() for c in cols]
        cell = "<td style=\"text-align: {}; white-space: pre-wrap\">{}</td>"
        out = ['<table class="asl-result">', "<thead><tr><th></th>"]
        for c in cols:
            out.append(f'<th title="{html.escape(c.type_name)}" style="text-align: '
                       f'{"right" if c.align_right else "left"}">{html.escape(c.name)}</th>')
        out.append("</tr></thead><tbody>")
        for k, i in enumerate(rows):
            if k and i != rows[k - 1] + 1:
                out.append(f'<tr><th></th><td colspan="{len(cols)}" '
                           'style="text-align: center">⋮</td></tr>')
            out.append(f"<tr><th>{i + 1}.</th>")
            for c, column in zip(cols, values, strict=True):
                value = column[k]
                if len(value) > MAX_VALUE_CHARS:
                    value = value[:MAX_VALUE_CHARS] + "⋯"
                out.append(cell.format("right" if c.align_right else "left",
                                       html.escape(value)))
            out.append("</tr>")
        out.append("</tbody></table>")
        if n > len(rows):
            out.append(f"<p>Showed {len(rows)} out of {n} rows.</p>")
        elif n == 0:
            out.append("<p>0 rows in set.</p>")
        return "".join(out)


class QueryFailed(Exception):
    """A statement of a cell failed; IPython shows only ``text`` (ClickHouse's error)."""

    def __init__(self, text: str, code: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code

    def _render_traceback_(self) -> list[str]:
        return [self.text]


def usage(message: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(message)

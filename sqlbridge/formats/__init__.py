"""ClickHouse output formats for Arrow tables, byte-compatible with ClickHouse.

``render(table, "PrettyCompact")`` returns what ``SELECT ... FORMAT PrettyCompact`` prints in
ClickHouse for the same data (text formats as ``str``, Parquet/Arrow as ``bytes``).  The oracle
is chdb 4.4 (ClickHouse 26.9) with its default settings and these choices for what depends on a
terminal:

* ``output_format_pretty_color=0``: no ANSI colours (we never know that we write to a terminal),
  hence no bold names, no grey row numbers, no digit-group underlines, and the NoEscapes
  variants print the same as the others;
* ``output_format_pretty_glue_chunks`` does nothing (it only acts on a terminal), the grid is
  UTF-8 (``output_format_pretty_grid_charset``), and nothing is cut to a terminal's width;
* everything else at the server defaults of that version: ``output_format_pretty_row_numbers=1``
  (``1.`` before each row), ``output_format_pretty_max_rows=1000`` (Pretty shows the first and
  last 500 rows and says ``Showed 1000 out of N rows.``; Vertical stops with
  ``Showed first 1000.``), ``output_format_pretty_display_footer_column_names=1`` (names again
  below 50+ rows), ``output_format_pretty_fallback_to_vertical=1`` (a wide or multi-line table of
  at most 10 rows and 5+ columns prints as Vertical), the ``-- 2.00 million`` tip after a large
  number in the last column, ``output_format_json_quote_64bit_integers=0`` (64-bit integers are
  JSON numbers in this version), ``output_format_json_escape_forward_slashes=1``.

A whole table is one block: ClickHouse would print one Pretty table per block of 65k rows, or
squash blocks that arrive within 50 ms; for a table already in memory one block is what it does.

Known, deliberate differences from chdb:

* when a Pretty table falls back to the Vertical layout, ClickHouse 26.9 prints times in the
  server's zone and ignores ``session_timezone``; we keep the requested ``time_zone`` there too
  (with the default, the local zone, both agree);
* Parquet/Arrow bytes are pyarrow's, not ClickHouse's writer's: same schema and values, other
  metadata.

Times are shown in ``time_zone`` (an IANA name; default: the process's local zone, found as a
session finds it, by ``sqlbridge.timezone``); naive timestamps are taken as UTC instants.  An
unknown zone raises ``BadArguments`` (code 36).
"""

from __future__ import annotations

import difflib

import pyarrow as pa

from ..errors import UnknownFormat
from . import binary, csv, json, markdown, native, pretty, tsv, values, vertical

__all__ = ["render", "FORMAT_NAMES", "BINARY_FORMATS", "canonical_format"]


def _null(table: pa.Table, **_: object) -> str:
    return ""


def _pretty_family() -> dict:
    out = {}
    for style, base in (("full", "Pretty"), ("compact", "PrettyCompact"), ("space", "PrettySpace")):
        for suffix in ("", "NoEscapes", "MonoBlock", "NoEscapesMonoBlock"):
            out[base + suffix] = (lambda s: lambda t, **kw: pretty.render(t, s, **kw))(style)
    return out


#: canonical name -> renderer(table, *, time_zone, statistics, rows_before_limit)
_RENDERERS = {
    "TabSeparated": tsv.render,
    "TabSeparatedRaw": tsv.render_raw,
    "TabSeparatedWithNames": tsv.render_with_names,
    "TabSeparatedWithNamesAndTypes": tsv.render_with_names_and_types,
    "TabSeparatedRawWithNames": tsv.render_raw_with_names,
    "TabSeparatedRawWithNamesAndTypes": tsv.render_raw_with_names_and_types,
    "CSV": csv.render,
    "CSVWithNames": csv.render_with_names,
    "CSVWithNamesAndTypes": csv.render_with_names_and_types,
    "JSON": json.render_json,
    "JSONCompact": json.render_json_compact,
    "JSONEachRow": json.render_each_row,
    "JSONCompactEachRow": json.render_compact_each_row,
    "JSONCompactEachRowWithNames": json.render_compact_each_row_with_names,
    "JSONCompactEachRowWithNamesAndTypes": json.render_compact_each_row_with_names_and_types,
    **_pretty_family(),
    "Vertical": vertical.render,
    "Markdown": markdown.render,
    "Values": values.render,
    "Null": _null,
    "Parquet": binary.render_parquet,
    "Arrow": binary.render_arrow,
    "ArrowStream": binary.render_arrow_stream,
    "Native": native.render,
}

_ALIASES = {
    "TSV": "TabSeparated",
    "TSVRaw": "TabSeparatedRaw",
    "Raw": "TabSeparatedRaw",
    "TSVWithNames": "TabSeparatedWithNames",
    "TSVWithNamesAndTypes": "TabSeparatedWithNamesAndTypes",
    "TSVRawWithNames": "TabSeparatedRawWithNames",
    "TSVRawWithNamesAndTypes": "TabSeparatedRawWithNamesAndTypes",
    "RawWithNames": "TabSeparatedRawWithNames",
    "RawWithNamesAndTypes": "TabSeparatedRawWithNamesAndTypes",
    "JSONLines": "JSONEachRow",
    "NDJSON": "JSONEachRow",
    "JSONL": "JSONEachRow",
    "MD": "Markdown",
}

#: Every accepted spelling, canonical names first.
FORMAT_NAMES: tuple[str, ...] = tuple(_RENDERERS) + tuple(_ALIASES)

_BY_LOWER = {name.lower(): _ALIASES.get(name, name) for name in FORMAT_NAMES}

#: Formats whose output is ``bytes``.
BINARY_FORMATS = frozenset({"Parquet", "Arrow", "ArrowStream", "Native"})


def canonical_format(name: str) -> str:
    """ClickHouse's spelling of format ``name`` (any case, any alias).

    Raises :class:`~sqlbridge.errors.UnknownFormat` (code 73) naming the closest known formats
    and listing all of them.
    """
    try:
        return _BY_LOWER[name.strip().lower()]
    except (KeyError, AttributeError):
        pass
    lowered = {n.lower(): n for n in FORMAT_NAMES}
    close = [lowered[m] for m in difflib.get_close_matches(str(name).lower(), lowered, n=3)]
    hint = f" Maybe you meant: {close!r}." if close else ""
    raise UnknownFormat(
        f"Unknown format {name}.{hint} Known formats: {', '.join(FORMAT_NAMES)}"
    ) from None


def render(
    table: pa.Table,
    format_name: str,
    *,
    time_zone: str | None = None,
    statistics: dict | None = None,
    rows_before_limit: int | None = None,
) -> str | bytes:
    """``table`` in ClickHouse format ``format_name``.

    ``time_zone`` is the IANA zone times are shown in (default: the process's local zone);
    ``statistics`` (``elapsed`` seconds, ``rows_read``, ``bytes_read``) and
    ``rows_before_limit`` only appear in the JSON formats' envelope.
    """
    fmt = canonical_format(format_name)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    return _RENDERERS[fmt](
        table, time_zone=time_zone, statistics=statistics, rows_before_limit=rows_before_limit
    )

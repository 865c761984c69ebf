r"""One user statement -> the DuckDB SQL to run, plus what the session must know to run it.

ClickHouse text goes through sqlglot's ClickHouse parser, is edited as a tree, and is printed as
DuckDB SQL (``clickhouse``). Working on the tree (not on the text) is what makes the ``system.*``
rewrite safe: a ``FORMAT`` clause, ``system.asynchronous_loader`` inside a string literal or a
comment, or a CTE of the same name are never confused with the real thing. The edits:

  - ``FORMAT x`` (before or after ``LIMIT``) and a trailing ``\G`` (Vertical) are taken off the
    query; the format goes back to the caller. ``SETTINGS`` are dropped when harmless (tuning
    such as ``max_threads``) and refused otherwise (``session_timezone``, ``limit``: ignoring
    them would answer differently); ``SAMPLE`` is refused as ClickHouse refuses it on system
    tables (DuckDB's TABLESAMPLE would silently return other rows) (``refusals``);
  - ``system.<ours>`` becomes the internal view (``tables``);
  - ClickHouse clauses sqlglot does not translate faithfully (``clauses``), functions through
    the registry (``sqlbridge.functions``) and operators (``expressions``);
  - unaliased computed columns get ClickHouse's column name (``names``), and the columns whose
    ClickHouse type is known are recorded (``hints``) so output formats can print it;
  - ``SHOW``, ``EXISTS``, ``DESCRIBE`` and ``EXPLAIN`` are answered in ``statements``.

``dialect="duckdb"`` text is not re-printed (sqlglot would normalise DuckDB SQL it does not
know); it is edited at the token level only (``duckdb_text``: ``FORMAT``, ``\G``,
``system.<ours>``), with an offset map so DuckDB's error positions still point into the user's
text.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlglot.tokens import Token

from sqlbridge.split import strip_backslash_g, tokenize
from sqlbridge.translate.clickhouse import translate_clickhouse
from sqlbridge.translate.duckdb_text import translate_duckdb
from sqlbridge.translate.parsing import syntax_error_at
from sqlbridge.translate.refusals import HARMLESS_SETTINGS, refuse
from sqlbridge.translate.tables import STATIC_TABLES
from sqlbridge.translate.translation import ROWS_BEFORE_LIMIT, Translation

#: The old private name, for callers that still use it.
_HARMLESS_SETTINGS = HARMLESS_SETTINGS

__all__ = ["DIALECTS", "ROWS_BEFORE_LIMIT", "STATIC_TABLES", "Translation", "refuse",
           "syntax_error_at", "translate"]

DIALECTS = ("clickhouse", "duckdb")


def translate(text: str, dialect: str = "clickhouse", *, count_before_limit: bool = False,
              tokens: Sequence[Token] | None = None) -> Translation:
    """Translate one statement (no ``;`` inside, see ``split``).

    ``count_before_limit`` asks for the number of rows the query had before its LIMIT, as an
    extra column (ClickHouse dialect, plain ``SELECT ... LIMIT`` only). ``tokens`` are
    ``text``'s own (``split.Piece.tokens``): given, the text is not tokenised again.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
    toks = list(tokens) if tokens is not None else tokenize(text, dialect)
    text, vertical = strip_backslash_g(text, dialect, toks)
    if vertical:
        toks = toks[:-2]
    if dialect == "clickhouse":
        t = translate_clickhouse(text, count_before_limit=count_before_limit, tokens=toks)
    else:
        t = translate_duckdb(text, toks)
    if vertical:
        t.format = "Vertical"
    return t

r"""``dialect="duckdb"``: the text is not re-printed (sqlglot would normalise DuckDB SQL it does
not know); it is edited at the token level only (``FORMAT``, ``\\G``, ``system.<ours>``), with an
offset map so DuckDB's error positions still point into the user's text."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot.tokens import Token, TokenType

from sqlbridge import catalog
from sqlbridge.split import tokenize
from sqlbridge.translate.tables import STATIC_TABLES
from sqlbridge.translate.translation import Translation

_FORMAT_FOLLOWERS = {"LIMIT", "OFFSET", "SETTINGS"}


def translate_duckdb(text: str, tokens: list[Token] | None = None) -> Translation:
    if tokens is None:
        tokens = tokenize(text, "duckdb")
    edits: list[tuple[int, int, str]] = []  # (start, end_exclusive, replacement)
    tables: set[str] = set()
    fmt = None
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if (
            depth == 0 and tok.token_type != TokenType.STRING and tok.text.upper() == "FORMAT"
            and nxt is not None and nxt.token_type != TokenType.STRING and nxt.text.isidentifier()
            and (after is None or after.text.upper() in _FORMAT_FOLLOWERS)
            and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
        ):
            fmt = nxt.text
            edits.append((tok.start, nxt.end + 1, ""))
        if (
            tok.text.lower() == "system" and tok.token_type != TokenType.STRING
            and nxt is not None and nxt.token_type == TokenType.DOT and after is not None
            and after.token_type != TokenType.STRING
            and (after.text.lower() in catalog.SYSTEM_TABLES or after.text.lower() in STATIC_TABLES)
            and (i + 3 >= len(tokens) or tokens[i + 3].token_type != TokenType.DOT)
            and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
        ):
            name = after.text.lower()
            if name in catalog.SYSTEM_TABLES:
                tables.add(name)
            edits.append((tok.start, after.end + 1, f"{catalog.INTERNAL_SCHEMA}.{name}"))
    sql, position = _apply(text, edits)
    return Translation(sql=sql.strip(), format=fmt, tables=frozenset(tables), position=position)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, Callable[[int], int | None]]:
    out: list[str] = []
    spans: list[tuple[int, int]] = []  # (offset in new text, offset in old text) at each edit end
    last = 0
    for start, end, repl in sorted(edits):
        out.append(text[last:start])
        out.append(repl)
        last = end
        spans.append((sum(map(len, out)), end))
    out.append(text[last:])
    new = "".join(out)
    lead = len(new) - len(new.lstrip())

    def position(offset: int) -> int | None:
        offset += lead
        old = offset
        for new_end, old_end in spans:
            if offset >= new_end:
                old = old_end + (offset - new_end)
        return min(old, len(text))

    return new, position

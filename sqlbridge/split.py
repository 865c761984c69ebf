"""Cutting a script into statements, and finding a statement's trailing ``\\G``.

Splitting on the ``;`` character would cut ``SELECT 'a;b'`` or ``-- see below;`` in two, so the
text goes through sqlglot's tokenizer (the ClickHouse one understands ``'…'``, ``"…"``, backtick
identifiers, ``--``, ``#`` and ``/* */`` comments) and is cut at ``;`` *tokens*, keeping each
statement's exact source text so error positions stay meaningful to the user.
``\\G`` ends a statement too, as in clickhouse-client (it means "print this one Vertical").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from sqlbridge.errors import SyntaxError_

_TOKENIZERS = {"clickhouse": ClickHouse().tokenizer_class, "duckdb": DuckDB().tokenizer_class}


@dataclass(frozen=True)
class Piece:
    """One statement of a script: its text, and where it starts in the script."""

    text: str
    offset: int


def tokenize(text: str, dialect: str = "clickhouse") -> list[Token]:
    """sqlglot tokens with character offsets; an unterminated string is a syntax error."""
    try:
        return _TOKENIZERS[dialect]().tokenize(text)
    except TokenError as e:
        raise SyntaxError_(f"Syntax error: {e}") from None


def _is_backslash_g(tokens: list[Token], i: int) -> bool:
    return (
        tokens[i].token_type == TokenType.BACKSLASH
        and i + 1 < len(tokens)
        and tokens[i + 1].text in ("G", "g")
        and tokens[i + 1].start == tokens[i].end + 1
    )


def split_statements(text: str, dialect: str = "clickhouse") -> list[Piece]:
    """The non-empty statements of ``text``, cut at top-level ``;`` (and after ``\\G``)."""
    tokens = tokenize(text, dialect)
    pieces: list[Piece] = []
    start = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        cut = None
        if tok.token_type == TokenType.SEMICOLON:
            cut, resume = tok.start, tok.end + 1
        elif _is_backslash_g(tokens, i):
            cut = resume = tokens[i + 1].end + 1
            i += 1
            if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.SEMICOLON:
                resume = tokens[i + 1].end + 1
                i += 1
        if cut is not None:
            _append(pieces, text, start, cut)
            start = resume
        i += 1
    _append(pieces, text, start, len(text))
    return pieces


def _append(pieces: list[Piece], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped or not _has_code(stripped):
        return
    lead = len(chunk) - len(chunk.lstrip())
    pieces.append(Piece(stripped, start + lead))


def _has_code(chunk: str) -> bool:
    """False for a chunk holding only comments (a script's trailing ``-- done``)."""
    try:
        return bool(ClickHouse().tokenizer_class().tokenize(chunk))
    except TokenError:
        return True


def strip_backslash_g(text: str, dialect: str = "clickhouse") -> tuple[str, bool]:
    """``text`` without a trailing ``\\G`` (and whether there was one)."""
    tokens = tokenize(text, dialect)
    if len(tokens) >= 2 and _is_backslash_g(tokens, len(tokens) - 2):
        return text[: tokens[-2].start].rstrip(), True
    return text, False

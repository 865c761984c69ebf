"""Cutting a script into statements, and finding a statement's trailing ``\\G``.

Splitting on the ``;`` character would cut ``SELECT 'a;b'`` or ``-- see below;`` in two, so the
text goes through sqlglot's tokenizer (the ClickHouse one understands ``'…'``, ``"…"``, backtick
identifiers, ``--``, ``#`` and ``/* */`` comments) and is cut at ``;`` *tokens*, keeping each
statement's exact source text so error positions stay meaningful to the user.
``\\G`` ends a statement too, as in clickhouse-client (it means "print this one Vertical").

Each ``Piece`` keeps its tokens (positions relative to its own text), so the rest of the path
(parameters, translation, sqlglot's parser) reuses them: a statement is tokenised once, by the
dialect's own tokenizer (the one ``sqlglot.parse`` would use).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from sqlbridge.errors import SyntaxError_

_DIALECTS = {name: Dialect.get_or_raise(name) for name in ("clickhouse", "duckdb")}


@dataclass(frozen=True)
class Piece:
    """One statement of a script: its text, where it starts in the script, and its tokens
    (offsets, lines and columns relative to ``text``)."""

    text: str
    offset: int
    tokens: tuple[Token, ...] = ()


def tokenize(text: str, dialect: str = "clickhouse") -> list[Token]:
    """sqlglot tokens with character offsets; an unterminated string is a syntax error."""
    try:
        return _DIALECTS[dialect].tokenize(text)
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
    first = 0  # index of the current piece's first token
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        cut = None
        if tok.token_type == TokenType.SEMICOLON:
            cut, resume, last = tok.start, tok.end + 1, i
        elif _is_backslash_g(tokens, i):
            cut = resume = tokens[i + 1].end + 1
            i += 1
            last = i + 1
            if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.SEMICOLON:
                resume = tokens[i + 1].end + 1
                i += 1
        if cut is not None:
            _append(pieces, text, start, cut, tokens[first:last])
            start, first = resume, i + 1
        i += 1
    _append(pieces, text, start, len(text), tokens[first:])
    return pieces


def _append(pieces: list[Piece], text: str, start: int, end: int, tokens: list[Token]) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped or not tokens:  # nothing, or only comments (a script's trailing -- done)
        return
    offset = start + len(chunk) - len(chunk.lstrip())
    pieces.append(Piece(stripped, offset, tuple(_rebase(tokens, text, offset))))


def _rebase(tokens: list[Token], text: str, offset: int) -> list[Token]:
    """``tokens`` of ``text`` as if the text began at ``offset`` (what tokenising the piece
    alone would give: sqlglot's error messages use lines and columns, positions use offsets)."""
    if offset == 0:
        return tokens
    lines = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return [Token(t.token_type, t.text, t.line - lines,
                  t.col - column if t.line - lines == 1 else t.col,
                  t.start - offset, t.end - offset, t.comments) for t in tokens]


def strip_backslash_g(text: str, dialect: str = "clickhouse",
                      tokens: list[Token] | None = None) -> tuple[str, bool]:
    """``text`` without a trailing ``\\G`` (and whether there was one); ``tokens``, when given,
    are ``text``'s (a ``Piece``'s), which saves tokenising it again."""
    if tokens is None:
        tokens = tokenize(text, dialect)
    if len(tokens) >= 2 and _is_backslash_g(tokens, len(tokens) - 2):
        return text[: tokens[-2].start].rstrip(), True
    return text, False

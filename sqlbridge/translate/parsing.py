"""Parsing ClickHouse text with sqlglot, and syntax errors worded as ClickHouse words them
(``failed at position N ('tok') (line L, col C)``)."""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token

from sqlbridge.errors import NotImplemented_, QueryError, SyntaxError_
from sqlbridge.split import tokenize

_CLICKHOUSE = Dialect.get_or_raise("clickhouse")

# sqlglot warns on stderr when it falls back to a generic Command (``SHOW ...``); we handle those.
_sqlglot_log = logging.getLogger("sqlglot")
if _sqlglot_log.level == logging.NOTSET:
    _sqlglot_log.setLevel(logging.ERROR)


def _syntax_error(text: str, e: ParseError) -> QueryError:
    err = (e.errors or [{}])[0]
    line, col = err.get("line") or 1, err.get("col") or 1
    highlight = err.get("highlight") or ""
    lines = text.split("\n")
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + max(col - len(highlight), 0)
    offset = min(offset, len(text))
    # sqlglot parses WITH TOTALS only after GROUP BY; ClickHouse also takes it without one
    # (one totals row), which is valid SQL we do not run, not a syntax error.
    following = [t.text.upper() for t in safe_tokens(text) if t.start >= offset][:2]
    if following == ["WITH", "TOTALS"]:
        return NotImplemented_("WITH TOTALS is not supported; add a UNION ALL with the totals")
    description = (err.get("description") or str(e)).split("\n")[0]
    missing = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>",
                       description)
    if missing:
        description = f"Expected an expression to complete {missing.group(2).upper()}"
    elif description.startswith("Invalid expression / Unexpected token"):
        description = "Unexpected token"
    return syntax_error_at(text, offset, description)


def syntax_error_at(text: str, offset: int, description: str) -> SyntaxError_:
    """ClickHouse's wording: ``failed at position N ('tok') (line L, col C): rest. why``."""
    toks = [t for t in safe_tokens(text) if t.start >= offset]
    near = text[toks[0].start: toks[0].end + 1] if toks else "end of query"
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    rest = text[offset: offset + 60].split("\n")[0]
    where = f"failed at position {offset + 1} ('{near}') (line {line}, col {col})"
    return SyntaxError_(f"Syntax error: {where}: {rest}. {description}")


def safe_tokens(text: str) -> list:
    try:
        return tokenize(text)
    except SyntaxError_:
        return []


def parse(text: str, tokens: list[Token] | None = None) -> exp.Expression:
    try:
        if tokens is None:
            trees = [t for t in sqlglot.parse(text, read="clickhouse") if t is not None]
        else:  # what sqlglot.parse does after tokenising
            trees = [t for t in _CLICKHOUSE.parser().parse(tokens, text) if t is not None]
    except ParseError as e:
        raise _syntax_error(text, e) from None
    except TokenError as e:
        raise SyntaxError_(f"Syntax error: {e}") from None
    if not trees:
        raise SyntaxError_("Empty query")
    if len(trees) > 1:
        raise SyntaxError_("Multi-statements are not allowed")
    return trees[0]

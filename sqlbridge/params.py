"""ClickHouse query parameters: ``{name:Type}`` placeholders filled from ``--param name=value``.

ClickHouse parses each value as its placeholder's type and splices a *typed literal* into the
query, so a parameter can never inject SQL: ``{t:String}`` given ``x' OR 1=1 --`` stays one
string.  The same holds here.  Placeholders are found among the tokens of the statement (not by
a regular expression over its text), so ``'{a:String}'`` inside a string literal or a comment is
left alone.

Values follow clickhouse-client's conventions: strings are written bare (``--param s=abc``) with
the escapes of the TabSeparated format (``\\t``, ``\\n``, ``\\\\``), ``\\N`` is NULL for a
``Nullable`` type, and arrays are written as ClickHouse literals (``[1,2]``, ``['a','b']``).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from collections.abc import Mapping, Sequence

from sqlbridge.chtypes import CHType, parse_type
from sqlbridge.errors import BadQueryParameter, NotImplemented_, UnknownQueryParameter
from sqlbridge.split import Token, tokenize

__all__ = ["find_placeholders", "substitute", "parse_assignments"]

_INT_RANGES = {
    f"{sign}Int{bits}": ((0, 2**bits - 1) if sign else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    for sign in ("", "U")
    for bits in (8, 16, 32, 64, 128, 256)
}
_FLOATS = {"Float32", "Float64", "BFloat16"}
_STRINGS = {"String", "FixedString", "Enum8", "Enum16", "Enum", "IPv4", "IPv6"}
_DUCKDB_TYPES = {
    "Int8": "TINYINT", "Int16": "SMALLINT", "Int32": "INTEGER", "Int64": "BIGINT",
    "Int128": "HUGEINT", "Int256": "HUGEINT",
    "UInt8": "UTINYINT", "UInt16": "USMALLINT", "UInt32": "UINTEGER", "UInt64": "UBIGINT",
    "UInt128": "UHUGEINT", "UInt256": "UHUGEINT",
    "Float32": "FLOAT", "Float64": "DOUBLE", "BFloat16": "FLOAT",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,9})?")
_UNESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a",
              "v": "\v", "e": "\x1b"}


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}`` (what ``--param`` collects)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _IDENTIFIER.fullmatch(name):
            raise BadQueryParameter(
                f"Query parameter must be given as name=value, got {item!r}"
            )
        out[name] = value
    return out


def find_placeholders(sql: str, dialect: str = "clickhouse",
                      tokens: Sequence[Token] | None = None) -> list[tuple[int, int, str, str]]:
    """Every ``{name:Type}`` outside strings and comments: ``(start, end, name, type_text)``.

    ``end`` is exclusive.  Braces that do not hold ``identifier : type`` (a DuckDB struct
    literal such as ``{'a': 1}``) are not placeholders. ``tokens``: ``sql``'s own, if known.
    """
    if tokens is None:
        tokens = tokenize(sql, dialect)
    found = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.text == "{" and i + 2 < len(tokens) and tokens[i + 2].text == ":":
            depth, j = 0, i + 3
            while j < len(tokens):
                text = tokens[j].text
                if text == "(" and tokens[j].token_type.name == "L_PAREN":
                    depth += 1
                elif text == ")" and tokens[j].token_type.name == "R_PAREN":
                    depth -= 1
                elif text == "}" and tokens[j].token_type.name == "R_BRACE" and depth == 0:
                    break
                j += 1
            name_tok = tokens[i + 1]
            if (
                j < len(tokens)
                and name_tok.token_type.name != "STRING"
                and _IDENTIFIER.fullmatch(name_tok.text)
                and j > i + 3
            ):
                start, end = tok.start, tokens[j].end + 1
                type_text = sql[tokens[i + 2].end + 1 : tokens[j].start].strip()
                found.append((start, end, name_tok.text, type_text))
                i = j + 1
                continue
        i += 1
    return found


def substitute(sql: str, params: Mapping[str, str], dialect: str = "clickhouse",
               tokens: Sequence[Token] | None = None) -> str:
    """``sql`` with each placeholder replaced by its value as a typed literal of ``dialect``.

    Raises ``UnknownQueryParameter`` (456) for a placeholder without a value and
    ``BadQueryParameter`` (457) for a value that is not of the placeholder's type.  Values
    nobody asks for are ignored, as in ClickHouse. ``tokens``: ``sql``'s own, if known; a
    statement without placeholders comes back unchanged (the same object), so its tokens stay
    valid.
    """
    placeholders = find_placeholders(sql, dialect, tokens)
    if not placeholders:
        return sql
    out = []
    last = 0
    for start, end, name, type_text in placeholders:
        if name not in params:
            # Every interface reaches here (asl sql, %asl, HTTP), so name each one's spelling.
            raise UnknownQueryParameter(
                f"Substitution `{name}` is not set; pass a {type_text} value as "
                f"--param {name}=... (asl sql, %asl) or param_{name}=... (HTTP)"
            )
        out.append(sql[last:start])
        out.append(literal(params[name], type_text, name=name, dialect=dialect))
        last = end
    out.append(sql[last:])
    return "".join(out)


def literal(value: str, type_text: str, *, name: str = "", dialect: str = "clickhouse") -> str:
    """``value`` (clickhouse-client text) as an SQL literal of type ``type_text``."""
    chtype = parse_type(type_text)
    return _Literal(name, type_text, dialect).render(value, chtype, top=True)


class _Literal:
    """Renders one parameter's value; knows the parameter for error messages."""

    def __init__(self, name: str, type_text: str, dialect: str) -> None:
        self.name, self.type_text, self.dialect = name, type_text, dialect

    def bad(self, value: object, why: str = "") -> BadQueryParameter:
        return BadQueryParameter(
            f"Value {value!r} cannot be parsed as {self.type_text} for query parameter "
            f"'{self.name}'{': ' + why if why else ''}"
        )

    def render(self, value: str | None, t: CHType, top: bool = False) -> str:
        base = t.name
        if base == "Nullable":
            if value is None or value in ("\\N", "NULL", "null"):
                return "NULL"
            return self.render(value, t.args[0], top)
        if value is None:
            raise self.bad("NULL", "the type is not Nullable")
        if base == "LowCardinality":
            return self.render(value, t.args[0], top)
        if base in _INT_RANGES:
            return self.integer(value, base)
        if base in _FLOATS:
            return self.floating(value, base)
        if base == "Bool":
            return self.boolean(value)
        if base in _STRINGS or base.startswith("Enum") or base == "UUID":
            if top:
                value = _unescape(value)
            if base == "UUID":
                try:
                    value = str(uuid.UUID(value))
                except ValueError:
                    raise self.bad(value) from None
            return self.string(value)
        if base in ("Date", "Date32"):
            if not _DATE.fullmatch(value):
                raise self.bad(value, "expected YYYY-MM-DD")
            try:
                _dt.date.fromisoformat(value)
            except ValueError as e:
                raise self.bad(value, str(e)) from None
            return self.cast(self.string(value), "Date", "DATE")
        if base in ("DateTime", "DateTime64"):
            return self.datetime(value, t)
        if base == "Array":
            return self.array(value, t.args[0])
        if base == "Identifier" and top:
            return self.identifier(value)
        raise NotImplemented_(
            f"Query parameters of type {self.type_text} are not supported (parameter "
            f"'{self.name}'); use String, integers, floats, Bool, Date, DateTime, DateTime64, "
            "UUID, Enum, Identifier, Nullable(...) or Array(...)"
        )

    # -- scalars ----------------------------------------------------------------------------
    def cast(self, text: str, clickhouse_type: str, duckdb_type: str) -> str:
        target = clickhouse_type if self.dialect == "clickhouse" else duckdb_type
        return f"CAST({text} AS {target})"

    def integer(self, value: str, type_name: str) -> str:
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise self.bad(value)
        number = int(text)
        low, high = _INT_RANGES[type_name]
        if not low <= number <= high:
            raise self.bad(value, f"out of range [{low}, {high}]")
        return self.cast(str(number), type_name, _DUCKDB_TYPES[type_name])

    def floating(self, value: str, type_name: str) -> str:
        try:
            number = float(value.strip())
        except ValueError:
            raise self.bad(value) from None
        text = repr(number) if math.isfinite(number) else self.string(str(number))
        return self.cast(text, type_name, _DUCKDB_TYPES[type_name])

    def boolean(self, value: str) -> str:
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return "true"
        if lowered in ("false", "0", "no", "off", "f", "n"):
            return "false"
        raise self.bad(value, "expected true or false")

    def string(self, value: str) -> str:
        if self.dialect == "clickhouse":
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def datetime(self, value: str, t: CHType) -> str:
        text = value.strip()
        scale = int(t.args[0]) if t.name == "DateTime64" and t.args else (
            3 if t.name == "DateTime64" else 0)
        tz = t.args[1 if t.name == "DateTime64" else 0] if len(t.args) > (
            1 if t.name == "DateTime64" else 0) else None
        if re.fullmatch(r"\d+(\.\d+)?", text):  # a Unix timestamp
            if self.dialect == "clickhouse":
                fn = "toDateTime64" if t.name == "DateTime64" else "toDateTime"
                extra = f", {scale}" if t.name == "DateTime64" else ""
                return f"{fn}({text}{extra})"
            return f"to_timestamp({text})"
        m = _DATETIME.fullmatch(text)
        if not m:
            raise self.bad(value, "expected YYYY-MM-DD hh:mm:ss[.ffffff] or a Unix timestamp")
        try:
            _dt.datetime.fromisoformat(f"{m.group(1)} {m.group(2)}")
        except ValueError as e:
            raise self.bad(value, str(e)) from None
        if self.dialect != "clickhouse":
            return f"CAST({self.string(text)} AS TIMESTAMPTZ)"
        if t.name == "DateTime64":
            return f"toDateTime64({self.string(text)}, {scale}{', ' + tz if tz else ''})"
        return f"toDateTime({self.string(text)}{', ' + tz if tz else ''})"

    def identifier(self, value: str) -> str:
        parts = value.split(".")
        if not all(parts):
            raise self.bad(value, "an empty identifier")
        if self.dialect == "clickhouse":
            return ".".join("`" + p.replace("\\", "\\\\").replace("`", "\\`") + "`"
                            for p in parts)
        return ".".join('"' + p.replace('"', '""') + '"' for p in parts)

    # -- arrays -----------------------------------------------------------------------------
    def array(self, value: str, element: CHType) -> str:
        items, end = _parse_array(value.strip(), 0, self)
        if value.strip()[end:].strip():
            raise self.bad(value, "text after the closing ]")
        return self.array_items(items, element)

    def array_items(self, items: list, element: CHType) -> str:
        rendered = []
        for item in items:
            if isinstance(item, list):
                if element.base.name != "Array":
                    raise self.bad(item, f"a nested array where {element.name} is expected")
                rendered.append(self.array_items(item, element.base.args[0]))
            else:
                rendered.append(self.render(item, element))
        return "[" + ", ".join(rendered) + "]"


def _unescape(value: str) -> str:
    """TabSeparated escapes, as clickhouse-client reads ``--param_x`` values."""
    if "\\" not in value or value == "\\N":
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append(_UNESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_array(text: str, pos: int, lit: _Literal) -> tuple[list, int]:
    """A ClickHouse array literal: ``[1, 'a\\'b', NULL, [2]]`` -> Python list of str/None/list."""
    if pos >= len(text) or text[pos] != "[":
        raise lit.bad(text, "an array must be written as [a, b, ...]")
    pos += 1
    items: list = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == "]" and not items:
            return items, pos + 1
        if pos >= len(text):
            raise lit.bad(text, "missing ]")
        c = text[pos]
        if c == "[":
            item, pos = _parse_array(text, pos, lit)
            items.append(item)
        elif c in "'\"":
            chars = []
            pos += 1
            while pos < len(text) and text[pos] != c:
                if text[pos] == "\\" and pos + 1 < len(text):
                    chars.append(_UNESCAPES.get(text[pos + 1], text[pos + 1]))
                    pos += 2
                else:
                    chars.append(text[pos])
                    pos += 1
            if pos >= len(text):
                raise lit.bad(text, "unterminated string")
            pos += 1
            items.append("".join(chars))
        else:
            m = re.compile(r"[^,\]\s]+").match(text, pos)
            if not m:
                raise lit.bad(text, "an empty array element")
            word = m.group()
            items.append(None if word in ("NULL", "null", "\\N") else word)
            pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return items, pos + 1
        else:
            raise lit.bad(text, "expected , or ]")

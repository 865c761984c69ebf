"""Escaping and quoting string columns as ClickHouse does, per style: TabSeparated escapes
(``escape``), SQL literals (``quote``), CSV (``csv_quote``) and JSON strings (``json_string``).

Each works on a whole Arrow string column and touches only the (rare) values that need it."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

STRING = pa.string()

# serializeTextEscaped / serializeTextQuoted (writeAnyEscapedString): these and nothing else.
_ESCAPES = [
    ("\\", "\\\\"),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\0", "\\0"),
    ("'", "\\'"),
]
_ESCAPE_RE = r"[\\\x08\x0c\n\r\t\x00']"

# writeJSONString: the short escapes, then \u00XX (upper-case hex) for other control characters.
_JSON_SHORT = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("/", "\\/"),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
]
_JSON_SHORT_RE = r'[\\"/\x08\x0c\n\r\t]'
_JSON_OTHER = {
    c: f"\\u{c:04X}" for c in list(range(0x20)) + [0x2028, 0x2029] if chr(c) not in "\b\f\n\r\t"
}
_JSON_OTHER_RE = "[" + "".join(re.escape(chr(c)) for c in _JSON_OTHER) + "]"
_JSON_ANY_RE = _JSON_OTHER_RE[:-1] + _JSON_SHORT_RE[1:]


def _replace_all(arr: pa.Array, pairs, pattern: str) -> pa.Array:
    """Apply ``pairs`` of literal replacements, but only to the values that need any."""
    if len(arr) == 0:
        return arr
    mask = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if not pc.any(mask).as_py():
        return arr
    subset = arr.filter(mask)
    for old, new in pairs:
        subset = pc.replace_substring(subset, old, new)
    return pc.replace_with_mask(arr, mask, subset)


def _translate(arr: pa.Array, table: dict, pattern: str) -> pa.Array:
    """Like :func:`_replace_all` for many single characters: Python ``str.translate`` on the
    (rare) values that contain one of them."""
    if len(arr) == 0:
        return arr
    mask = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if not pc.any(mask).as_py():
        return arr
    subset = [s.translate(table) for s in arr.filter(mask).to_pylist()]
    return pc.replace_with_mask(arr, mask, pa.array(subset, STRING))


def escape(arr: pa.Array) -> pa.Array:
    """TabSeparated escaping (the body of a quoted literal)."""
    return _replace_all(arr, _ESCAPES, _ESCAPE_RE)


def quote(arr: pa.Array) -> pa.Array:
    return wrap(escape(arr), "'", "'")


def csv_quote(arr: pa.Array) -> pa.Array:
    arr = _replace_all(arr, [('"', '""')], '"')
    return wrap(arr, '"', '"')


def json_string(arr: pa.Array) -> pa.Array:
    if len(arr):
        mask = pc.fill_null(pc.match_substring_regex(arr, _JSON_ANY_RE), False)
        if pc.any(mask).as_py():
            subset = arr.filter(mask)
            for old, new in _JSON_SHORT:
                subset = pc.replace_substring(subset, old, new)
            subset = _translate(subset, _JSON_OTHER, _JSON_OTHER_RE)
            arr = pc.replace_with_mask(arr, mask, subset)
    return wrap(arr, '"', '"')


def wrap(arr: pa.Array, left: str, right: str) -> pa.Array:
    """``left + value + right`` for every non-null value."""
    return pc.binary_join_element_wise(left, arr, right, "")


def concat(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and/or Python strings."""
    return pc.binary_join_element_wise(*parts, "")

"""Keeping secrets out of a history: applied to every batch before anything reaches disk.

``record_history(..., redact=...)`` takes a ``Redactor`` or a plain ``str -> str`` callable:

- ``tag_keys``: tags whose key matches (case-insensitively) are stored with the value
  replaced, e.g. ``Redactor(tag_keys={"password", "token"})``;
- ``patterns``: regular expressions (RE2 syntax, as pyarrow.compute runs them, vectorized)
  whose matches are replaced in every stored text: job names, exception texts, tracebacks,
  results, tag values, text-log messages and their format strings;
- ``func``: any ``str -> str`` callable, run on each of those texts after the patterns (one
  Python call per value, so slower than patterns for big batches).

The values of redacted tags are also removed from every other text of the same batch, so a
``tags={"token": t}`` job that logs or raises with ``t`` in the message does not leak it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

REDACTED = "[REDACTED]"


class Redactor:
    """What to scrub from a history before it is written (see the module docstring)."""

    def __init__(
        self,
        *,
        tag_keys: Iterable[str] = (),
        patterns: Iterable[str] = (),
        func: Callable[[str], str] | None = None,
        replacement: str = REDACTED,
    ) -> None:
        self.tag_keys = frozenset(k.lower() for k in tag_keys)
        self.patterns = tuple(patterns)
        for p in self.patterns:
            try:  # Catch a typo now, not in the writer thread; RE2 is close to Python's re.
                re.compile(p)
            except re.error as e:
                raise ValueError(f"redaction pattern {p!r} is not a regular expression: {e}"
                                 ) from None
        self.func = func
        self.replacement = replacement

    def tags(self, tags: dict[str, str], secrets: set[str]) -> dict[str, str]:
        """``tags`` with the values of secret keys replaced (those values go into secrets)."""
        if not self.tag_keys:
            return tags
        out = {}
        for k, v in tags.items():
            if k.lower() in self.tag_keys:
                if v:
                    secrets.add(str(v))
                out[k] = self.replacement
            else:
                out[k] = v
        return out

    def text(self, values: pa.Array | pa.ChunkedArray, secrets: Iterable[str] = ()
             ) -> pa.Array | pa.ChunkedArray:
        """A string column with every pattern match, secret value and ``func`` applied."""
        patterns = list(self.patterns)
        literals = sorted((s for s in secrets if s), key=len, reverse=True)
        if literals:
            patterns.append("|".join(re.escape(s) for s in literals))
        for p in patterns:
            values = pc.replace_substring_regex(values, pattern=p,
                                                replacement=self.replacement)
        if self.func is not None:
            func = self.func
            values = pa.array([None if v is None else func(v) for v in values.to_pylist()],
                              pa.string())
        return values

    def text_value(self, value: str | None, secrets: Iterable[str] = ()) -> str | None:
        if value is None:
            return None
        return self.text(pa.array([value], pa.string()), secrets)[0].as_py()


def as_redactor(redact: Redactor | Callable[[str], str] | None) -> Redactor | None:
    """``record_history``'s ``redact=`` argument as a Redactor (None: store everything)."""
    if redact is None or isinstance(redact, Redactor):
        return redact
    if callable(redact):
        return Redactor(func=redact)
    raise TypeError("redact= takes a sqlbridge.history.Redactor or a str -> str callable, "
                    f"not {type(redact).__name__}")

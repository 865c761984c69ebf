"""What an HTTP client is shown: errors that never name where things live on the serving host,
and text made safe for a status line."""

from __future__ import annotations

import functools
import os
import re
import sys

__all__ = ["hide_host_paths", "printable"]


def hide_host_paths(text: str) -> str:
    """``text`` with the serving host's own directories (home, Python's prefix, the working
    directory, DuckDB's extension folder) replaced by ``<server path>``: an error answered to a
    client names what it wrote, never where things live on the server."""
    for prefix in _host_prefixes():
        text = text.replace(prefix, "<server path>")
    return re.sub(r"<server path>[^\s'\"),]*", "<server path>", text)


@functools.cache
def _host_prefixes() -> tuple[str, ...]:
    found = {os.path.expanduser("~"), sys.prefix, sys.base_prefix, sys.exec_prefix, os.getcwd(),
             os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    found = {p.rstrip("/") for p in found if p and p not in ("/", ".")}
    found |= {os.path.realpath(p) for p in found}
    return tuple(sorted(found, key=len, reverse=True))


def printable(text: str) -> str:
    """``text`` safe for a status line and a body: control characters and undecodable bytes
    (http.server decodes the request line as Latin-1) shown escaped, at most 300 characters."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= 300 else out[:300] + "..."

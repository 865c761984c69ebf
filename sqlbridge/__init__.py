"""SQL over a live AsyncLoader: ``connect(loader)``, ``render(table, format_name)`` and
``serve(loader, address)``.

Everything here is imported on first use, so ``import sqlbridge`` (and ``import
sqlbridge.split``, which ``asl sql --connect`` needs for scripts) costs no DuckDB or pyarrow
import: the CLI's start-up depends on it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from sqlbridge.endpoint import Server
    from sqlbridge.history.recorder import record_history
    from sqlbridge.session import Session, connect
    from sqlbridge.source import JobSource


def render(table: pa.Table, format_name: str, **options: Any) -> str | bytes:
    """``table`` in ClickHouse output format ``format_name`` (see ``sqlbridge.formats.render``)."""
    from sqlbridge.formats import render as _render

    return _render(table, format_name, **options)


def serve(loader: JobSource, address: str | int | tuple[str, int] | os.PathLike[str], *,
          token: str | None = None, **options: Any) -> Server:
    """Serve ``loader``'s live tables over HTTP at ``address`` (see ``sqlbridge.endpoint``)."""
    from sqlbridge.endpoint import serve as _serve

    return _serve(loader, address, token=token, **options)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sqlbridge``: the ``%%asl`` magics (see ``sqlbridge.notebook``)."""
    from sqlbridge.notebook import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from sqlbridge.notebook import unload_ipython_extension as _unload

    _unload(ipython)


def __getattr__(name: str) -> Any:
    # ``connect`` and ``Session`` are the real objects (not wrappers), loaded on first access.
    if name in ("connect", "Session"):
        from sqlbridge import session

        return getattr(session, name)
    if name == "record_history":
        from sqlbridge.history.recorder import record_history

        return record_history
    raise AttributeError(f"module 'sqlbridge' has no attribute {name!r}")


__all__ = ["Session", "connect", "record_history", "render", "serve"]

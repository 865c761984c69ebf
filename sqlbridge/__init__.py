"""SQL over a live AsyncLoader: ``connect(loader)`` and ``render(table, format_name)``."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sqlbridge.session import Session, connect


def render(table: pa.Table, format_name: str, **options: Any) -> str | bytes:
    """``table`` in ClickHouse output format ``format_name`` (see ``sqlbridge.formats.render``).

    Imported on first use so that ``import sqlbridge`` stays cheap for the CLI's start-up.
    """
    from sqlbridge.formats import render as _render

    return _render(table, format_name, **options)


__all__ = ["Session", "connect", "render"]

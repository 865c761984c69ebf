"""The process's local time zone as an IANA name, which DuckDB's ``SET TimeZone`` needs.

Python's ``time.tzname`` gives abbreviations (``CET``) that DuckDB does not accept; the IANA name
comes from ``$TZ`` or from where ``/etc/localtime`` points, as ClickHouse itself finds it.
"""

from __future__ import annotations

import os
from pathlib import Path


def local_time_zone() -> str:
    """``Europe/Berlin``-style name of the local zone; ``UTC`` when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    if tz in ("UTC", "GMT"):
        return tz
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        return target.split(marker, 1)[1]
    try:
        name = Path("/etc/timezone").read_text().strip()
    except OSError:
        return "UTC"
    return name or "UTC"

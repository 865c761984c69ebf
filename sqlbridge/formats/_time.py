"""Times as ClickHouse writes them, in a time zone: ``datetimes``, and ``zone``, which checks a
zone name (``BadArguments`` for an unknown one) and defaults to the local zone the session uses
(``sqlbridge.timezone.local_time_zone``)."""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BadArguments
from ..timezone import local_time_zone

STRING = pa.string()

_UNIT_FOR_SCALE = [(0, "s"), (3, "ms"), (6, "us"), (9, "ns")]


def datetimes(arr: pa.Array, scale: int, tz: str) -> pa.Array:
    """``YYYY-MM-DD hh:mm:ss[.fff...]`` in ``tz``; naive timestamps are UTC instants.

    Arrow's timestamp-to-string cast writes exactly ClickHouse's layout (the fraction has as
    many digits as the unit), and is much faster than ``strftime``; ``local_timestamp`` moves
    the instants to the zone's wall clock first.
    """
    unit = next((u for s, u in _UNIT_FOR_SCALE if s >= scale), "ns")
    if arr.type.tz is None:
        arr = arr.cast(pa.timestamp(arr.type.unit, tz="UTC"))
    if arr.type.unit != unit:
        arr = pc.cast(arr, pa.timestamp(unit, tz="UTC"), safe=False)
    wall = pc.local_timestamp(arr.cast(pa.timestamp(unit, tz=tz)))
    out = pc.cast(wall, STRING)
    if scale not in (0, 3, 6, 9):
        out = pc.utf8_slice_codeunits(out, 0, 20 + scale)
    return out


def zone(time_zone: str | None) -> str:
    """``time_zone``, or the local zone when None (``sqlbridge.timezone``'s, as the session's);
    an unknown name is a ``BadArguments``."""
    tz = time_zone or local_time_zone()
    _check_zone(tz)
    return tz


@cache
def _check_zone(tz: str) -> None:
    try:
        pa.array([0], pa.timestamp("s", tz=tz)).cast(pa.timestamp("s", tz="UTC"))
        pc.local_timestamp(pa.array([0], pa.timestamp("s", tz=tz)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise BadArguments(f"Invalid time zone: {tz}") from None

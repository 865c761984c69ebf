"""ClickHouse's ``Native`` format: the columnar bytes ClickHouse's own clients read, as ``bytes``.

What ClickHouse writes over HTTP (no ``client_protocol_version``, so no block-info header and no
per-column serialization flags), checked byte for byte against chdb:

* the result is a sequence of blocks of at most ``BLOCK_ROWS`` rows (ClickHouse's
  ``max_block_size``), each ``varint(columns) varint(rows)`` then, per column,
  ``string(name) string(type)`` and the column's data; an empty result is no bytes at all;
* a string is a LEB128 length and its bytes; numbers, dates and times are little-endian fixed
  width (``Date`` days as UInt16, ``DateTime`` seconds as UInt32, ``DateTime64(p)`` ticks of
  ``10**-p`` s as Int64, ``Enum8`` codes as Int8, ``Bool`` as UInt8, ``UUID`` as two UInt64
  halves, high first);
* ``Nullable(T)``: one byte per row (1 = NULL), then ``T``'s data with a default where NULL;
  ``Array(T)``: cumulative end offsets as UInt64, then every element as one column of ``T``;
  ``Map(K, V)``: offsets, keys, values; ``Tuple``: each element's column in turn;
  ``LowCardinality(T)``: ClickHouse's dictionary encoding (one dictionary per block).

The type written for a column is the one the session attached (``sqlbridge.chtypes``), so
``Nullable``, ``Enum8`` and ``DateTime64(6, 'zone')`` reach the client as ClickHouse would
send them; a value Arrow holds in another form (a boolean for ``UInt8``, a dictionary for an
Enum) is converted. A type this writer has no encoding for (DuckDB's own ``STRUCT`` name, say)
is sent as ``String`` holding the value's text, which any client can read, rather than as a
type name the client would fail to parse.

Fixed-width columns are Arrow's buffers as they are; strings get their length prefixes by
Arrow compute kernels; only rare types (decimals, 128-bit integers, UUIDs) go value by value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..chtypes import CHType, clickhouse_type, parse_type

__all__ = ["render", "BLOCK_ROWS"]

#: ClickHouse's default ``max_block_size``: the rows of one block of a Native result.
BLOCK_ROWS = 65409

_Pieces = list  # bytes-like pieces, joined once at the end


def render(table: pa.Table, **_: object) -> bytes:
    """``table`` in ClickHouse's Native format (see the module docstring)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if table.num_rows == 0:
        return b""
    types = []
    for field, column in zip(table.schema, table.columns, strict=True):
        name = clickhouse_type(field, column)
        parsed = parse_type(name)
        types.append((name if _supported(parsed) else "String", parsed))
    pieces: _Pieces = []
    for start in range(0, table.num_rows, BLOCK_ROWS):
        block = table.slice(start, BLOCK_ROWS)
        pieces.append(_varint(block.num_columns) + _varint(block.num_rows))
        for field, column, (type_name, parsed) in zip(
                block.schema, block.columns, types, strict=True):
            pieces.append(_string(field.name.encode()))
            pieces.append(_string(type_name.encode()))
            _column(parsed, _one_chunk(column), pieces)
    return b"".join(pieces)


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks() if column.num_chunks else pa.array([], column.type)


def _supported(t: CHType) -> bool:
    if t.name in ("Nullable", "LowCardinality", "Array"):
        return bool(t.args) and isinstance(t.args[0], CHType) and _supported(t.args[0])
    if t.name == "Map":
        return len(t.args) == 2 and all(isinstance(a, CHType) and _supported(a) for a in t.args)
    if t.name == "Tuple":
        return bool(t.args) and all(isinstance(a, tuple) and _supported(a[1]) for a in t.args)
    return t.name in _FIXED or t.name in _SCALARS


# ----------------------------------------------------------------------------- primitives --

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(data: bytes) -> bytes:
    return _varint(len(data)) + data


def _buffer(arr: pa.Array, width: int) -> pa.Buffer:
    """The data buffer of a null-free fixed-width array, for exactly its rows."""
    return arr.buffers()[1].slice(arr.offset * width, len(arr) * width)


def _fixed_as(arr: pa.Array, target: pa.DataType, pieces: _Pieces) -> None:
    if arr.null_count:
        arr = arr.fill_null(pa.scalar(0, arr.type) if not pa.types.is_boolean(arr.type)
                            else False)
    if arr.type != target:
        arr = pc.cast(arr, target, safe=False)
    pieces.append(_buffer(arr, target.byte_width))


#: One-byte values 0..255 (binary and large binary), taken by index to build LEB128 prefixes.
_BYTES = {t: pa.array([bytes([i]) for i in range(256)], t) for t in (pa.binary(),
                                                                     pa.large_binary())}


def _strings(arr: pa.Array, pieces: _Pieces) -> None:
    """Each value as LEB128 length + bytes; NULL as the empty string."""
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    kind = pa.large_binary() if large else pa.binary()
    if arr.type != kind:
        arr = pc.cast(arr, kind)
    if arr.null_count:
        arr = arr.fill_null(b"")
    if len(arr) == 0:
        return
    lengths = pc.binary_length(arr).cast(pa.int64())
    empty = pa.scalar(b"", kind)
    longest = pc.max(lengths).as_py() or 0
    parts = []
    shift = 0
    while True:
        more = longest >= 1 << (shift + 7)
        low = pc.bit_wise_and(pc.shift_right(lengths, shift), 0x7F)
        if more:
            continues = pc.greater_equal(lengths, 1 << (shift + 7))
            low = pc.if_else(continues, pc.bit_wise_or(low, 0x80), low)
        byte = _BYTES[kind].take(low)
        if shift:
            byte = pc.if_else(pc.greater_equal(lengths, 1 << shift), byte, empty)
        parts.append(byte)
        if not more:
            break
        shift += 7
    joined = pc.binary_join_element_wise(*parts, arr, empty)
    offsets = joined.buffers()[1]
    width = 8 if pa.types.is_large_binary(joined.type) else 4
    first = int.from_bytes(offsets.slice(joined.offset * width, width), "little", signed=True)
    last = int.from_bytes(offsets.slice((joined.offset + len(joined)) * width, width), "little",
                          signed=True)
    pieces.append(joined.buffers()[2].slice(first, last - first))


# -------------------------------------------------------------------------------- columns --

_FIXED = {
    "UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(), "UInt64": pa.uint64(),
    "Int8": pa.int8(), "Int16": pa.int16(), "Int32": pa.int32(), "Int64": pa.int64(),
    "Float32": pa.float32(), "Float64": pa.float64(), "Bool": pa.uint8(),
    **{f"Interval{unit}": pa.int64() for unit in (
        "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour", "Day", "Week",
        "Month", "Quarter", "Year")},
}


def _column(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    if pa.types.is_dictionary(arr.type) and not t.name.startswith(("Enum", "LowCardinality")):
        arr = arr.dictionary_decode()
    if not _supported(t):
        _strings(_as_text(arr), pieces)
    elif t.name == "Nullable":
        _fixed_as(pc.is_null(arr), pa.uint8(), pieces)
        _column(t.args[0], arr, pieces)
    elif t.name == "Array":
        _array(t.args[0], arr, pieces)
    elif t.name == "Map":
        _map(t, arr, pieces)
    elif t.name == "Tuple":
        _tuple(t, arr, pieces)
    elif t.name == "LowCardinality":
        _low_cardinality(t.args[0], arr, pieces)
    elif t.name in _FIXED:
        if pa.types.is_interval(arr.type) or pa.types.is_duration(arr.type):
            arr = _interval_units(t.name, arr)
        _fixed_as(arr, _FIXED[t.name], pieces)
    else:
        _SCALARS[t.name](t, arr, pieces)


def _array(element: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    if pa.types.is_fixed_size_list(arr.type) or pa.types.is_list_view(arr.type):
        arr = arr.cast(pa.large_list(arr.type.value_type))
    lengths = pc.list_value_length(arr).fill_null(0).cast(pa.uint64())
    _fixed_as(pc.cumulative_sum(lengths), pa.uint64(), pieces)
    _column(element, pc.list_flatten(arr), pieces)


def _map(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    if pa.types.is_map(arr.type):
        entry = pa.struct([("key", arr.type.key_type), ("value", arr.type.item_type)])
        arr = arr.cast(pa.list_(entry))
    lengths = pc.list_value_length(arr).fill_null(0).cast(pa.uint64())
    _fixed_as(pc.cumulative_sum(lengths), pa.uint64(), pieces)
    entries = pc.list_flatten(arr)
    keys, values = entries.flatten()[:2]
    _column(t.args[0], keys, pieces)
    _column(t.args[1], values, pieces)


def _tuple(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    children = arr.flatten() if pa.types.is_struct(arr.type) else []
    if len(children) != len(t.args):
        raise ValueError(f"a Tuple of {len(t.args)} elements needs a struct column of as many "
                         f"fields, not {arr.type}")
    for (_, element), child in zip(t.args, children, strict=True):
        _column(element, child, pieces)


def _low_cardinality(inner: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    """ClickHouse's SerializationLowCardinality, one dictionary per block: the default value
    (and NULL, for a Nullable inner type) first, then the distinct values in order of first
    appearance; row indexes in the narrowest unsigned width that holds them."""
    nullable = inner.name == "Nullable"
    base = inner.args[0] if nullable else inner
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    distinct = pc.unique(arr.drop_null()) if arr.null_count else pc.unique(arr)
    default = _default_of(base, arr.type)
    if default is not None:
        distinct = distinct.filter(pc.invert(pc.equal(distinct, default)))
    reserved = 2 if nullable else 1
    index = pc.add(pc.index_in(arr, value_set=distinct).cast(pa.int64()), reserved)
    if default is not None:
        index = pc.if_else(pc.equal(arr, default), reserved - 1, index)
    index = index.fill_null(0)  # NULL: slot 0 (Nullable); a non-Nullable NULL: the default
    if default is None:
        head = [None] * reserved
    else:
        head = [None, default.as_py()] if nullable else [default.as_py()]
    dictionary = pa.concat_arrays([pa.array(head, distinct.type), distinct])
    size = len(dictionary)
    width, key_type = next((w, k) for w, k, limit in (
        (0, pa.uint8(), 1 << 8), (1, pa.uint16(), 1 << 16), (2, pa.uint32(), 1 << 32),
        (3, pa.uint64(), 1 << 64)) if size <= limit)
    # KeysSerializationVersion 1; flags: HasAdditionalKeys (bit 9) | NeedUpdateDictionary (10)
    pieces.append((1).to_bytes(8, "little"))
    pieces.append((width | 1 << 9 | 1 << 10).to_bytes(8, "little"))
    pieces.append(size.to_bytes(8, "little"))
    _column(base, dictionary, pieces)
    pieces.append(len(arr).to_bytes(8, "little"))
    _fixed_as(index, key_type, pieces)


def _default_of(t: CHType, arrow: pa.DataType) -> pa.Scalar | None:
    if t.name == "String" and (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)
                               or pa.types.is_binary(arrow)):
        return pa.scalar("" if not pa.types.is_binary(arrow) else b"", arrow)
    if t.name in _FIXED and (pa.types.is_integer(arrow) or pa.types.is_floating(arrow)):
        return pa.scalar(0, arrow)
    return None


# ------------------------------------------------------------------------ scalar encoders --

def _encode_string(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
            or pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)):
        arr = _as_text(arr)
    _strings(arr, pieces)


def _encode_fixed_string(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    size = int(t.args[0])
    out = bytearray()
    for value in arr.to_pylist():
        data = value.encode() if isinstance(value, str) else (value or b"")
        out += data[:size].ljust(size, b"\0")
    pieces.append(bytes(out))


_UNITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def _ticks(arr: pa.Array, scale: int) -> pa.Array:
    """Timestamps as Int64 ticks of ``10**-scale`` seconds since the epoch (UTC)."""
    if pa.types.is_date(arr.type):
        arr = arr.cast(pa.timestamp("s"))
    have = _UNITS[arr.type.unit] if pa.types.is_timestamp(arr.type) else scale
    ticks = arr.cast(pa.int64()).fill_null(0)
    if scale > have:
        return pc.multiply(ticks, 10 ** (scale - have))
    if scale < have:
        step = 10 ** (have - scale)
        whole = pc.divide(ticks, step)  # toward zero; a time before 1970 rounds to the past
        return pc.if_else(pc.greater(pc.multiply(whole, step), ticks),
                          pc.subtract(whole, 1), whole)
    return ticks


def _encode_datetime64(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    scale = int(t.args[0]) if t.args else 3
    _fixed_as(_ticks(arr, scale), pa.int64(), pieces)


def _encode_datetime(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    _fixed_as(_ticks(arr, 0), pa.uint32(), pieces)


def _encode_date(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    days = pc.cast(arr, pa.date32(), safe=False) if pa.types.is_timestamp(arr.type) else arr
    days = days.cast(pa.date32()).cast(pa.int32())
    _fixed_as(days, pa.uint16() if t.name == "Date" else pa.int32(), pieces)


_ENUM_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=\s*(-?\d+)")


def _enum_codes(t: CHType) -> dict[str, int]:
    return {re.sub(r"\\(.)", r"\1", name): int(code)
            for name, code in (_ENUM_ITEM.match(str(a)).groups() for a in t.args
                               if _ENUM_ITEM.match(str(a)))}


def _encode_enum(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    codes = _enum_codes(t)
    target = pa.int8() if t.name == "Enum8" else pa.int16()
    # NULL (and a name the type lacks): 0, what ClickHouse leaves under a NULL of Nullable(Enum)
    fallback = 0
    if pa.types.is_dictionary(arr.type):
        names = arr.dictionary.cast(pa.string()).to_pylist()
        table = pa.array([codes.get(n, fallback) for n in names], pa.int64())
        values = table.take(arr.indices)
    elif pa.types.is_integer(arr.type):
        values = arr
    else:
        names = list(codes)
        position = pc.index_in(arr.cast(pa.string()), value_set=pa.array(names, pa.string()))
        values = pa.array(list(codes.values()), pa.int64()).take(position)
    _fixed_as(values.fill_null(fallback), target, pieces)


def _big_int_encoder(width: int, signed: bool) -> Callable[[CHType, pa.Array, _Pieces], None]:
    def encode(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
        out = bytearray()
        for value in arr.to_pylist():
            out += int(value or 0).to_bytes(width, "little", signed=signed)
        pieces.append(bytes(out))
    return encode


def _decimal_width(t: CHType) -> tuple[int, int]:
    """(bytes, scale) of a Decimal type, by ClickHouse's precision thresholds."""
    if t.name == "Decimal":
        precision = int(t.args[0])
        scale = int(t.args[1]) if len(t.args) > 1 else 0
        width = 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32
        return width, scale
    return {"Decimal32": 4, "Decimal64": 8, "Decimal128": 16, "Decimal256": 32}[t.name], int(
        t.args[0])


def _encode_decimal(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    import decimal

    width, scale = _decimal_width(t)
    out = bytearray()
    for value in arr.to_pylist():
        unscaled = int(decimal.Decimal(value or 0).scaleb(scale).to_integral_value(
            rounding=decimal.ROUND_DOWN))
        out += unscaled.to_bytes(width, "little", signed=True)
    pieces.append(bytes(out))


def _encode_uuid(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    import uuid

    out = bytearray()
    for value in arr.to_pylist():
        if value is None:
            raw = bytes(16)
        elif isinstance(value, bytes):
            raw = value
        else:
            raw = uuid.UUID(str(value)).bytes
        # ClickHouse keeps a UUID as two little-endian UInt64: the high half, then the low
        out += raw[7::-1] + raw[15:7:-1]
    pieces.append(bytes(out))


def _encode_nothing(t: CHType, arr: pa.Array, pieces: _Pieces) -> None:
    pieces.append(b"0" * len(arr))  # SerializationNothing writes the character '0' per row


_SCALARS: dict[str, Callable[[CHType, pa.Array, _Pieces], None]] = {
    "String": _encode_string,
    "FixedString": _encode_fixed_string,
    "DateTime64": _encode_datetime64,
    "DateTime": _encode_datetime,
    "Date": _encode_date,
    "Date32": _encode_date,
    "Enum8": _encode_enum,
    "Enum16": _encode_enum,
    "Int128": _big_int_encoder(16, True),
    "UInt128": _big_int_encoder(16, False),
    "Int256": _big_int_encoder(32, True),
    "UInt256": _big_int_encoder(32, False),
    "Decimal": _encode_decimal,
    "Decimal32": _encode_decimal,
    "Decimal64": _encode_decimal,
    "Decimal128": _encode_decimal,
    "Decimal256": _encode_decimal,
    "UUID": _encode_uuid,
    "Nothing": _encode_nothing,
}


_INTERVAL_SECONDS = {"Nanosecond": 1e-9, "Microsecond": 1e-6, "Millisecond": 1e-3, "Second": 1,
                     "Minute": 60, "Hour": 3600, "Day": 86400, "Week": 604800}


def _interval_units(name: str, arr: pa.Array) -> pa.Array:
    """An Arrow duration or month-day-nano interval as a count of ``name``'s unit."""
    unit = name[len("Interval"):]
    out = []
    for value in arr.to_pylist():
        if value is None:
            out.append(0)
            continue
        if hasattr(value, "months"):
            if unit in ("Month", "Quarter", "Year"):
                out.append(value.months // {"Month": 1, "Quarter": 3, "Year": 12}[unit])
                continue
            seconds = value.days * 86400 + value.nanoseconds / 1e9 + value.months * 2592000
        else:
            seconds = value.total_seconds()
        out.append(int(seconds / _INTERVAL_SECONDS.get(unit, 1)))
    return pa.array(out, pa.int64())


def _as_text(arr: pa.Array) -> pa.Array:
    """A column's values as strings, for a type sent as ``String``."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())

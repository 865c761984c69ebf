"""Giving a DuckDB result the ClickHouse types a ClickHouse user expects to see.

Output formats print types (``TSVWithNamesAndTypes``, JSON ``meta``) and ``sqlbridge.chtypes``
derives them from Arrow types unless a field carries ``metadata[b"clickhouse_type"]``. Arrow
alone cannot say that ``ready_seqno`` is ``Nullable(UInt64)`` when this snapshot has no NULL,
that ``count()`` is UInt64 (DuckDB: BIGINT), or that a dictionary column is the status Enum8.
``decorate`` attaches what the query and the DuckDB result types tell, and converts the values
where ClickHouse would hold another type: booleans become UInt8 (ClickHouse comparisons answer
1/0), counts become unsigned.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from sqlbridge import catalog
from sqlbridge.chtypes import METADATA_KEY as KEY
from sqlbridge.chtypes import clickhouse_type

_SIMPLE = {
    "VARCHAR": "String", "BLOB": "String", "BIGINT": "Int64", "UBIGINT": "UInt64",
    "INTEGER": "Int32", "UINTEGER": "UInt32", "SMALLINT": "Int16", "USMALLINT": "UInt16",
    "TINYINT": "Int8", "UTINYINT": "UInt8", "HUGEINT": "Int128", "UHUGEINT": "UInt128",
    "DOUBLE": "Float64", "FLOAT": "Float32", "BOOLEAN": "Bool", "DATE": "Date32",
    "TIMESTAMP": "DateTime64(6)", "TIMESTAMP WITH TIME ZONE": "DateTime64(6)",
    "TIMESTAMP_NS": "DateTime64(9)", "TIMESTAMP_MS": "DateTime64(3)", "TIMESTAMP_S": "DateTime",
    "UUID": "UUID", "INTERVAL": "IntervalSecond", "TIME": "String", "JSON": "String",
}


def clickhouse_name_of_duckdb_type(duck: str) -> str:
    """``UBIGINT[]`` -> ``Array(UInt64)``; an unknown DuckDB type keeps its DuckDB name."""
    duck = duck.strip()
    if duck.endswith("[]"):
        return f"Array({clickhouse_name_of_duckdb_type(duck[:-2])})"
    if duck.startswith("ENUM("):
        values = re.findall(r"'((?:[^']|'')*)'", duck)
        if tuple(values) == catalog.STATUS_NAMES:
            return catalog.STATUS_CLICKHOUSE_TYPE
        known = _history_enums().get(tuple(values))
        if known is not None:  # numbered from 1, as ClickHouse numbers them
            return known
        width = "Enum8" if len(values) < 128 else "Enum16"
        return f"{width}(" + ", ".join(f"'{v}' = {i}" for i, v in enumerate(values)) + ")"
    if duck.upper() == catalog.STATUS_DUCKDB_TYPE.upper():
        return catalog.STATUS_CLICKHOUSE_TYPE
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duck)
    if m:
        return f"Decimal({m.group(1)}, {m.group(2)})"
    return _SIMPLE.get(duck.upper(), duck)


def _history_enums() -> dict[tuple[str, ...], str]:
    """The history tables' enums (``type``, ``level``) by their values: ClickHouse's spelling."""
    from sqlbridge.history.schema import (
        EVENT_TYPE_CH,
        EVENT_TYPES,
        TEXT_LOG_LEVEL_CH,
        TEXT_LOG_LEVELS,
    )

    return {tuple(EVENT_TYPES): EVENT_TYPE_CH, tuple(TEXT_LOG_LEVELS): TEXT_LOG_LEVEL_CH}


def type_name_macros() -> list[str]:
    """DuckDB macros behind ``toTypeName(x)`` for expressions whose type only DuckDB knows:
    ``asl_clickhouse_type_name(typeof(x))`` spells DuckDB's type the ClickHouse way."""
    cases = " ".join(f"WHEN '{duck}' THEN '{ch}'" for duck, ch in _SIMPLE.items())
    scalar = f"CREATE MACRO asl_clickhouse_scalar_type(t) AS CASE upper(t) {cases} ELSE t END"
    enum = clickhouse_name_of_duckdb_type("ENUM(" + ", ".join(
        f"'{n}'" for n in catalog.STATUS_NAMES) + ")").replace("'", "''")
    full = (
        "CREATE MACRO asl_clickhouse_type_name(t) AS CASE "
        "WHEN t LIKE '%[]' THEN 'Array(' || asl_clickhouse_scalar_type(t[:-3]) || ')' "
        f"WHEN t = '{catalog.STATUS_DUCKDB_TYPE}' OR t LIKE 'ENUM(''PENDING''%' THEN '{enum}' "
        "WHEN t LIKE 'DECIMAL(%' THEN 'Float64' "  # DuckDB's type for a literal such as 1.5
        "ELSE asl_clickhouse_scalar_type(t) END"
    )
    return [scalar, full]


def _base(ch: str) -> str:
    return ch[len("Nullable("):-1] if ch.startswith("Nullable(") else ch


def _compatible(ch: str, t: pa.DataType) -> bool:
    base = _base(ch)
    if base in _ARROW_OF:
        return (pa.types.is_integer(t) or (base == "UInt8" and pa.types.is_boolean(t))
                or (pa.types.is_decimal(t) and t.scale == 0))
    if base == "String":
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if base == "Float64":
        return pa.types.is_floating(t)
    if base.startswith("DateTime"):
        return pa.types.is_timestamp(t)
    if base.startswith("Array("):
        return pa.types.is_list(t) or pa.types.is_large_list(t)
    if base.startswith("Enum"):
        return pa.types.is_dictionary(t) or pa.types.is_string(t)
    return True


_ARROW_OF = {"UInt64": pa.uint64(), "UInt32": pa.uint32(), "UInt16": pa.uint16(),
             "UInt8": pa.uint8(), "Int64": pa.int64(), "Int32": pa.int32(), "Int16": pa.int16(),
             "Int8": pa.int8()}


def decorate(
    table: pa.Table,
    duck_types: list[str],
    hints: dict[str, str],
    *,
    booleans_as_uint8: bool,
    nullable: frozenset[str] = frozenset(),
) -> pa.Table:
    """``table`` with ClickHouse types in field metadata (and values converted to match)."""
    fields, columns = [], []
    for i, (f, col) in enumerate(zip(table.schema, table.columns, strict=True)):
        duck = duck_types[i] if i < len(duck_types) else ""
        ch = hints.get(f.name)
        if ch is not None and not _compatible(ch, f.type):
            ch = None
        is_enum = duck.startswith("ENUM(") or duck.upper() == catalog.STATUS_DUCKDB_TYPE.upper()
        if ch is None and is_enum:
            ch = clickhouse_name_of_duckdb_type(duck)
        if ch is None and booleans_as_uint8 and pa.types.is_boolean(f.type):
            ch = "UInt8"
        if ch is None and duck.upper() in ("HUGEINT", "UHUGEINT"):
            # sum() of integers: DuckDB widens to 128 bits, ClickHouse stays at (U)Int64.
            ch = "UInt64" if duck.upper() == "UHUGEINT" else "Int64"
        if ch is not None and _base(ch) == "DateTime" and pa.types.is_timestamp(col.type):
            # Whole seconds: a second-resolution Arrow type prints (and types) as DateTime.
            col = col.cast(pa.timestamp("s", col.type.tz), safe=False)
        if ch is not None:
            target = _ARROW_OF.get(_base(ch))
            if target is not None and col.type != target:
                try:
                    col = pc.cast(col, target)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    ch = None
        if ch is None and f.name in nullable:
            ch = clickhouse_type(pa.field(f.name, col.type))
        if ch is not None:
            wrap = col.null_count or f.name in nullable
            if wrap and not ch.startswith(("Nullable(", "Array(", "Tuple(", "Map(", "LowCard")):
                ch = f"Nullable({ch})"
            metadata = dict(f.metadata or {})
            metadata[KEY] = ch.encode()
            f = pa.field(f.name, col.type, nullable=f.nullable, metadata=metadata)
        fields.append(f)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=table.schema.metadata))

"""``system.*`` names: ``system.<ours>`` becomes the internal view (see ``catalog``); other
``system.x`` names are left alone so DuckDB's own ``system.main.*`` keeps working, and an unknown
one fails in DuckDB and is reported as UNKNOWN_TABLE listing our tables. ``numbers(n)`` becomes
DuckDB's ``range``. The ClickHouse types of the columns a query can name come from here."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqlbridge import catalog
from sqlbridge.errors import UnknownTable

#: Static tables created once per session next to the live views (``system.tables`` ...).
STATIC_TABLES = ("tables", "columns", "databases", "settings")


def system_name(table: exp.Table) -> str | None:
    """``asynchronous_loader`` for ``system.asynchronous_loader`` (any case), else None."""
    if table.args.get("catalog") is not None or not table.args.get("db"):
        return None
    if table.db.lower() != "system" or not isinstance(table.this, exp.Identifier):
        return None
    name = table.name.lower()
    return name if name in catalog.SYSTEM_TABLES or name in STATIC_TABLES else None


def system_table_named(name: str) -> catalog.SystemTable:
    """``system.asynchronous_loader`` (any case, optional backquotes) -> our table, or raise."""
    plain = name.replace("`", "").replace('"', "")
    db, _, table = plain.rpartition(".")
    found = catalog.SYSTEM_TABLES.get(table.lower()) if db.lower() == "system" else None
    if found is None:
        raise UnknownTable(f"Table {plain} does not exist. The system tables are: "
                           f"{catalog.system_table_list()}")
    return found


def rewrite_tables(tree: exp.Expression) -> set[str]:
    used: set[str] = set()
    aliases: dict[str, str] = {}  # asynchronous_loader -> the name its columns are qualified by
    for table in list(tree.find_all(exp.Table)):
        func = table.this
        if isinstance(func, exp.Anonymous) and func.name.lower() == "numbers":
            table.replace(_numbers(func, table.alias or "numbers"))
            used.add("numbers")  # its UInt64 ``number`` column (see column_types)
            continue
        name = system_name(table)
        if name is None:
            continue
        used.add(name)
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        aliases.setdefault(name, alias.name)
        table.set("db", exp.to_identifier(catalog.INTERNAL_SCHEMA))
        table.set("this", exp.to_identifier(name))
        table.set("alias", alias)
    _unqualify_system_columns(tree, aliases)
    return used


def _unqualify_system_columns(tree: exp.Expression, aliases: dict[str, str]) -> None:
    """``system.asynchronous_loader.job`` (valid ClickHouse, even beside an alias) names the
    column by its table's alias: the internal view has no ``system`` schema to qualify it."""
    for column in tree.find_all(exp.Column):
        db = column.args.get("db")
        if db is None or column.args.get("catalog") is not None or db.name != "system":
            continue
        alias = aliases.get(column.table.lower())
        if alias is not None:
            column.set("db", None)
            column.set("table", exp.to_identifier(alias))


def _numbers(func: exp.Anonymous, alias: str) -> exp.Expression:
    """ClickHouse ``numbers(n)`` / ``numbers(a, n)``: a ``number`` column, as DuckDB's ``range``."""
    # BIGINT: numbers(1e6) is valid ClickHouse, and DuckDB's range() takes no DOUBLE.
    args = [exp.Cast(this=a, to=exp.DataType.build("BIGINT")) for a in func.expressions]
    bounds = args if len(args) == 1 else [args[0], exp.Add(this=args[0], expression=args[1])]
    rng = exp.Table(this=exp.Anonymous(this="range", expressions=bounds))
    number = exp.Cast(this=exp.column("range"), to=exp.DataType.build("UBIGINT", dialect="duckdb"))
    query = exp.select(exp.alias_(number, "number")).from_(rng)
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def column_types(tables: set[str]) -> Callable[[exp.Expression], str | None]:
    types: dict[str, str] = {"number": "UInt64"} if "numbers" in tables else {}
    for name in tables:
        if name in catalog.SYSTEM_TABLES:
            for c in catalog.SYSTEM_TABLES[name].columns:
                types.setdefault(c.name, c.clickhouse_type)

    def type_of(e: exp.Expression) -> str | None:
        return types.get(e.name) if isinstance(e, exp.Column) else None

    return type_of

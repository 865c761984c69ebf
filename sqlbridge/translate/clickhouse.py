"""One ClickHouse statement -> ``Translation``: the steps, in order.

Refusals first (``refusals``), then the parse; statements that are not queries go to
``statements``; a query has its ``FORMAT`` and ``SETTINGS`` taken off, its ``system.*`` names
rewritten (``tables``), its clauses (``clauses``) and expressions (``expressions``) rewritten for
DuckDB, and its columns named and typed as ClickHouse would (``names``, ``hints``), then is
printed as DuckDB SQL."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.tokens import Token

from sqlbridge import catalog
from sqlbridge.errors import NotImplemented_
from sqlbridge.translate import statements
from sqlbridge.translate.clauses import (
    add_rows_before_limit,
    array_join,
    limit_by,
    order_by_all,
    scalar_with,
    several_array_joins,
    top_select,
    with_ties,
)
from sqlbridge.translate.expressions import fix_functions
from sqlbridge.translate.hints import nullable_outputs, type_hints
from sqlbridge.translate.names import column_name, distinct_names
from sqlbridge.translate.parsing import parse
from sqlbridge.translate.refusals import (
    WRITES,
    check_settings,
    refuse,
    refuse_by_first_word,
    refuse_unsupported,
)
from sqlbridge.translate.tables import column_types, rewrite_tables
from sqlbridge.translate.translation import Translation


def translate_clickhouse(text: str, *, count_before_limit: bool = False,
                         tokens: list[Token] | None = None) -> Translation:
    """The translation of one ClickHouse statement (``\\G`` already taken off)."""
    exists = statements.exists_statement(text.strip().rstrip(";"))
    if exists is not None:
        return exists
    refuse_by_first_word(text, tokens)
    tree = parse(text, tokens)
    for kind, word in WRITES.items():
        if isinstance(tree, kind):
            raise refuse(word)
    if isinstance(tree, exp.Command):
        return statements.command(tree, translate_clickhouse)
    if isinstance(tree, exp.Describe):
        return statements.describe(tree, translate_clickhouse)
    if not isinstance(tree, exp.Query):
        raise NotImplemented_(f"{type(tree).__name__.upper()} is not supported; "
                              "use SELECT, DESCRIBE or SHOW TABLES")

    fmt = tree.args.get("format")
    tree.set("format", None)
    limits = check_settings(tree.args.get("settings") or [])
    tree.set("settings", None)
    refuse_unsupported(tree)
    tables = rewrite_tables(tree)
    type_of = column_types(tables)
    array_join(tree)
    order_by_all(tree)
    limit_by(tree)
    with_ties(tree)
    top = top_select(tree)
    names = [column_name(p, text) for p in top.expressions] if top is not None else []
    names = distinct_names(top.expressions, names) if top is not None else []
    scalar_with(tree)
    several_array_joins(tree)
    hints = type_hints(top, tables, names) if top is not None else {}
    nullable = nullable_outputs(top, tree, tables, names) if top is not None else set()
    fix_functions(tree, type_of)
    if top is not None:
        for projection, name in zip(list(top.expressions), names, strict=True):
            if name is not None:
                projection.replace(exp.alias_(projection, name, quoted=True))
    counter = add_rows_before_limit(tree) if count_before_limit else None
    try:
        sql = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as e:
        raise NotImplemented_(f"Cannot translate this query to DuckDB: {e}") from None
    return Translation(
        sql=sql,
        format=fmt.name if fmt is not None else None,
        tables=frozenset(t for t in tables if t in catalog.SYSTEM_TABLES),
        type_hints=hints,
        nullable=frozenset(nullable),
        booleans_as_uint8=True,
        rows_before_limit_column=counter,
        settings=limits,
    )

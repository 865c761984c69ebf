"""Statement-level rewrites of a parsed ClickHouse query for DuckDB: ``ARRAY JOIN`` (and several
``arrayJoin`` in one select list), ``LIMIT n BY``, ``LIMIT ... WITH TIES``, ``WITH <expr> AS
name``, and the extra column that counts the rows before ``LIMIT``.

- ``ARRAY JOIN`` clause: sqlglot emits it verbatim (a DuckDB syntax error); it becomes a
  subquery with ``unnest`` (rows with an empty array disappear, as in ClickHouse).
- ``LIMIT n BY x``: emitted verbatim; now ``QUALIFY row_number() OVER (PARTITION BY x ...)
  <= n``."""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.errors import NotImplemented_
from sqlbridge.translate.translation import ROWS_BEFORE_LIMIT


def array_join(tree: exp.Expression) -> None:
    """``FROM t ARRAY JOIN arr [AS x]`` -> ``FROM (SELECT *, unnest(arr) AS x FROM t) AS t``.

    Without an alias the array column itself is replaced by its elements, as in ClickHouse.
    """
    for select in list(tree.find_all(exp.Select)):
        joins = select.args.get("joins") or []
        arrays = [j for j in joins if (j.args.get("kind") or "").upper() == "ARRAY"]
        if not arrays:
            continue
        if any((j.args.get("side") or "").upper() == "LEFT" for j in arrays):
            raise NotImplemented_("LEFT ARRAY JOIN is not supported; use ARRAY JOIN")
        source = select.args["from_"].this
        alias = source.alias_or_name or "t"
        inner = exp.select(exp.Star()).from_(source.copy())
        replaces: list[exp.Expression] = []
        for j in arrays:
            item = j.this
            for target in item.expressions if isinstance(item, exp.Tuple) else [item]:
                if isinstance(target, exp.Alias):
                    inner = inner.select(exp.alias_(exp.Unnest(expressions=[target.this]),
                                                    target.alias), append=True)
                else:
                    replaces.append(exp.alias_(exp.Unnest(expressions=[target]), target.name))
        if replaces:
            star = exp.Star(**{"replace": replaces})
            inner.set("expressions", [star, *inner.expressions[1:]])
        remaining = [j for j in joins if j not in arrays]
        select.set("joins", remaining or None)
        select.set("from_", exp.From(this=exp.Subquery(
            this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))))


def several_array_joins(tree: exp.Expression) -> None:
    """``SELECT arrayJoin(a) AS x, arrayJoin(b) AS y``: in ClickHouse each ``arrayJoin`` is its
    own ARRAY JOIN (the rows multiply); DuckDB's ``unnest`` calls in one SELECT are zipped. With
    two or more, each becomes a subquery level ``SELECT *, unnest(arr) AS __asl_array_join_i``
    (as the ARRAY JOIN clause is translated), and the call becomes that column. Done after
    naming: the result column keeps its ``arrayJoin(...)`` name."""
    for select in list(tree.find_all(exp.Select)):
        calls = [e for p in select.expressions for e in p.find_all(exp.Explode)
                 if e.parent_select is select]
        if len(calls) < 2:
            continue
        source = select.args.get("from_")
        if select.args.get("joins") or any(isinstance(p, exp.Star) for p in select.expressions):
            raise NotImplemented_("several arrayJoin() in a SELECT with JOIN or * are not "
                                  "supported; use the ARRAY JOIN clause")
        table = source.this if source is not None else exp.Subquery(  # SELECT without FROM
            this=exp.select(exp.alias_(exp.Literal.number(1), "__asl_one")),
            alias=exp.TableAlias(this=exp.to_identifier("t")))
        alias = table.alias_or_name or "t"
        for i, call in enumerate(calls, 1):
            column = f"__asl_array_join_{i}"
            inner = exp.select(exp.Star(), exp.alias_(exp.Unnest(expressions=[call.this.copy()]),
                                                      column)).from_(table)
            table = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            call.replace(exp.column(column))
        select.set("from_", exp.From(this=table))


def scalar_with(tree: exp.Expression) -> None:
    """``WITH 1 AS x SELECT x + job_id``: ClickHouse's expression aliases (DuckDB's WITH takes
    only queries) are substituted where they are used. Done after naming, because ClickHouse
    names the column ``plus(x, job_id)``; a bare ``x`` in the select list keeps its name."""
    for with_ in list(tree.find_all(exp.With)):
        scalars = [cte for cte in with_.expressions if cte.args.get("scalar")]
        if not scalars:
            continue
        owner = with_.parent
        for cte in scalars:
            name, value = cte.alias, cte.this
            cte.pop()
            for column in list(owner.find_all(exp.Column)):
                if column.table or column.name != name or not isinstance(column.this,
                                                                          exp.Identifier):
                    continue
                replacement: exp.Expression = value.copy() if isinstance(
                    value, exp.Subquery | exp.Literal) else exp.Paren(this=value.copy())
                if column.parent is not None and column.arg_key == "expressions" and \
                        isinstance(column.parent, exp.Select):
                    replacement = exp.alias_(replacement, name, quoted=True)
                column.replace(replacement)
        if not with_.expressions:
            with_.pop()


def limit_by(tree: exp.Expression) -> None:
    """``LIMIT n BY k`` -> ``QUALIFY row_number() OVER (PARTITION BY k ORDER BY ...) <= n``."""
    for select in list(tree.find_all(exp.Select)):
        limit = select.args.get("limit")
        if not isinstance(limit, exp.Limit) or not limit.expressions:
            continue
        order = select.args.get("order")
        window = exp.Window(
            this=exp.RowNumber(),
            partition_by=[k.copy() for k in limit.expressions],
            order=order.copy() if order is not None else None,
        )
        cond = exp.LTE(this=window, expression=limit.expression.copy())
        select.set("limit", None)
        qualify = select.args.get("qualify")
        select.set("qualify", exp.Qualify(
            this=exp.and_(qualify.this, cond) if qualify is not None else cond))


def with_ties(tree: exp.Expression) -> None:
    """``ORDER BY x LIMIT n WITH TIES`` -> ``QUALIFY rank() OVER (ORDER BY x) <= n`` (DuckDB
    has no WITH TIES): the rows of rank n or better are exactly the first n and their ties."""
    for select in list(tree.find_all(exp.Select)):
        limit = select.args.get("limit")
        options = limit.args.get("limit_options") if isinstance(limit, exp.Limit) else None
        if options is None or not options.args.get("with_ties"):
            continue
        order = select.args.get("order")
        if order is None or select.args.get("offset") is not None:
            raise NotImplemented_("LIMIT ... WITH TIES needs ORDER BY and no OFFSET here")
        window = exp.Window(this=exp.Anonymous(this="rank", expressions=[]), order=order.copy())
        cond = exp.LTE(this=window, expression=limit.expression.copy())
        select.set("limit", None)
        qualify = select.args.get("qualify")
        select.set("qualify", exp.Qualify(
            this=exp.and_(qualify.this, cond) if qualify is not None else cond))


def order_by_all(tree: exp.Expression) -> None:
    """``ORDER BY ALL [DESC]``: every selected column, in order, as ClickHouse and DuckDB both
    read it.  sqlglot parses the ``ALL`` as a column named ``ALL`` (and would quote it), so it
    becomes DuckDB's keyword again; a column really named ``all`` must be quoted, as in
    ClickHouse."""
    for order in tree.find_all(exp.Order):
        if len(order.expressions) != 1:
            continue
        column = order.expressions[0].this
        if (isinstance(column, exp.Column) and not column.table
                and isinstance(column.this, exp.Identifier) and not column.this.quoted
                and column.name.upper() == "ALL"):
            column.replace(exp.var("ALL"))


def top_select(tree: exp.Expression) -> exp.Select | None:
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if isinstance(tree, exp.Subquery):
        return top_select(tree.this)
    return tree if isinstance(tree, exp.Select) else None


def add_rows_before_limit(tree: exp.Expression) -> str | None:
    """Add ``count(*) OVER ()`` to a ``SELECT ... LIMIT``: windows run before LIMIT, so it is
    the row count LIMIT cut from. Not for DISTINCT (windows run before it) or set operations."""
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") is not None:
        return None
    if tree.args.get("limit") is None:
        return None
    window = exp.Window(this=exp.Count(this=exp.Star()))
    tree.select(exp.alias_(window, ROWS_BEFORE_LIMIT, quoted=True), append=True, copy=False)
    return ROWS_BEFORE_LIMIT

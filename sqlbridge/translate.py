"""One user statement -> the DuckDB SQL to run, plus what the session must know to run it.

ClickHouse text goes through sqlglot's ClickHouse parser, is edited as a tree, and is printed as
DuckDB SQL. Working on the tree (not on the text) is what makes the ``system.*`` rewrite safe:
a ``FORMAT`` clause, ``system.asynchronous_loader`` inside a string literal or a comment, or a CTE
of the same name are never confused with the real thing. The edits:

  - ``FORMAT x`` (before or after ``LIMIT``) and a trailing ``\\G`` (Vertical) are taken off the
    query; the format goes back to the caller. ``SETTINGS`` are dropped when harmless (tuning
    such as ``max_threads``) and refused otherwise (``session_timezone``, ``limit``: ignoring
    them would answer differently); ``SAMPLE`` is refused as ClickHouse refuses it on system
    tables (DuckDB's TABLESAMPLE would silently return other rows);
  - ``system.<ours>`` becomes the internal view (see ``catalog``); other ``system.x`` names are
    left alone so DuckDB's own ``system.main.*`` keeps working, and an unknown one fails in DuckDB
    and is reported as UNKNOWN_TABLE listing our tables;
  - ClickHouse functions and clauses sqlglot does not translate faithfully (``functions``);
  - unaliased computed columns get ClickHouse's column name (``naming``), and the columns whose
    ClickHouse type is known are recorded (``type_hints``) so output formats can print it.

``dialect="duckdb"`` text is not re-printed (sqlglot would normalise DuckDB SQL it does not know);
it is edited at the token level only (``FORMAT``, ``\\G``, ``system.<ours>``), with an offset map
so DuckDB's error positions still point into the user's text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.tokens import Token, TokenType

from sqlbridge import catalog, naming
from sqlbridge.errors import (
    NotImplemented_,
    Readonly,
    SamplingNotSupported,
    SyntaxError_,
    UnknownTable,
)
from sqlbridge.functions import fix_functions
from sqlbridge.limits import LIMIT_SETTINGS
from sqlbridge.split import strip_backslash_g, tokenize

DIALECTS = ("clickhouse", "duckdb")
_CLICKHOUSE = Dialect.get_or_raise("clickhouse")

# sqlglot warns on stderr when it falls back to a generic Command (``SHOW ...``); we handle those.
_sqlglot_log = logging.getLogger("sqlglot")
if _sqlglot_log.level == logging.NOTSET:
    _sqlglot_log.setLevel(logging.ERROR)

#: Static tables created once per session next to the live views (``system.tables`` ...).
STATIC_TABLES = ("tables", "columns", "databases")

#: ClickHouse table functions that reach outside the process.
_OUTSIDE_TABLE_FUNCTIONS = {
    "file", "url", "s3", "s3cluster", "hdfs", "remote", "remotesecure", "mysql", "postgresql",
    "jdbc", "odbc", "input", "executable", "azureblobstorage", "gcs", "iceberg", "deltalake",
    "hudi", "sqlite", "mongodb", "redis", "cluster", "clusterallreplicas", "fuzzjson", "merge",
}

#: Statement kinds refused up front, with the word used in the message.
_WRITES: dict[type[exp.Expression], str] = {
    exp.Insert: "INSERT", exp.Create: "CREATE", exp.Drop: "DROP", exp.Delete: "DELETE",
    exp.Update: "UPDATE", exp.Alter: "ALTER", exp.Set: "SET", exp.Use: "USE",
    exp.Merge: "MERGE", exp.TruncateTable: "TRUNCATE", exp.Copy: "COPY", exp.Pragma: "PRAGMA",
    exp.Attach: "ATTACH", exp.Detach: "DETACH", exp.Install: "INSTALL",
}
_WRITE_COMMANDS = {
    "ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA", "COPY", "SYSTEM", "OPTIMIZE", "TRUNCATE",
    "RENAME", "GRANT", "REVOKE", "KILL", "EXCHANGE", "CHECKPOINT", "VACUUM", "EXPORT", "IMPORT",
    "CALL", "SET", "RESET", "BEGIN", "COMMIT", "ROLLBACK", "START", "PREPARE", "EXECUTE",
    "DEALLOCATE", "UNDROP", "BACKUP", "RESTORE", "MOVE", "WATCH", "CREATE", "DROP", "ALTER",
    "INSERT", "DELETE", "UPDATE", "USE", "COMMENT", "ANALYZE", "MERGE", "UPSERT", "REPLACE",
}

_READONLY_HINT = ("this session is read-only: the system tables are live views of the loader. "
                  "Only SELECT, DESCRIBE and SHOW TABLES queries can run")


def refuse(kind: str, why: str = _READONLY_HINT) -> Readonly:
    return Readonly(f"Cannot execute {kind} in readonly mode: {why}")


@dataclass
class Translation:
    """What to run for one statement."""

    #: DuckDB SQL to execute, or None when ``result`` answers without DuckDB.
    sql: str | None
    #: The FORMAT the statement asked for (``\\G`` -> Vertical), as written.
    format: str | None = None
    #: Names of the live system tables the statement reads (e.g. ``asynchronous_loader``).
    tables: frozenset[str] = frozenset()
    #: A ready answer (``DESCRIBE system.x``, ``SHOW TABLES``).
    result: pa.Table | None = None
    #: Output column name -> ClickHouse type, where known from the query.
    type_hints: dict[str, str] = field(default_factory=dict)
    #: Output columns ClickHouse types Nullable whether or not this result holds a NULL.
    nullable: frozenset[str] = frozenset()
    #: ClickHouse has no booleans in results: comparisons are UInt8 (1/0).
    booleans_as_uint8: bool = False
    #: For DuckDB errors: maps an offset in ``sql`` back to the user's text (None if unknown).
    position: Callable[[int], int | None] = lambda _offset: None
    #: DESCRIBE of something other than a system table: reshape DuckDB's answer.
    describe: bool = False
    #: ``EXPLAIN [PLAN] <query>``: run ``sql`` under DuckDB's EXPLAIN, answer the plan lines.
    explain: bool = False
    #: Name of an extra result column holding the row count before LIMIT (JSON formats print
    #: ``rows_before_limit_at_least``); the session removes it from the result.
    rows_before_limit_column: str | None = None
    #: The statement's SETTINGS the session honours (``sqlbridge.limits.LIMIT_SETTINGS``), as
    #: written: ``max_execution_time``, ``max_result_rows``...
    settings: dict[str, str] = field(default_factory=dict)


ROWS_BEFORE_LIMIT = "__asl_rows_before_limit"


def translate(text: str, dialect: str = "clickhouse", *, count_before_limit: bool = False,
              tokens: Sequence[Token] | None = None) -> Translation:
    """Translate one statement (no ``;`` inside, see ``split``).

    ``count_before_limit`` asks for the number of rows the query had before its LIMIT, as an
    extra column (ClickHouse dialect, plain ``SELECT ... LIMIT`` only). ``tokens`` are
    ``text``'s own (``split.Piece.tokens``): given, the text is not tokenised again.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
    toks = list(tokens) if tokens is not None else tokenize(text, dialect)
    text, vertical = strip_backslash_g(text, dialect, toks)
    if vertical:
        toks = toks[:-2]
    if dialect == "clickhouse":
        t = _translate_clickhouse(text, count_before_limit=count_before_limit, tokens=toks)
    else:
        t = _translate_duckdb(text, toks)
    if vertical:
        t.format = "Vertical"
    return t


# --------------------------------------------------------------------------------- ClickHouse --


def _syntax_error(text: str, e: ParseError) -> SyntaxError_:
    err = (e.errors or [{}])[0]
    line, col = err.get("line") or 1, err.get("col") or 1
    highlight = err.get("highlight") or ""
    lines = text.split("\n")
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + max(col - len(highlight), 0)
    offset = min(offset, len(text))
    description = (err.get("description") or str(e)).split("\n")[0]
    missing = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>",
                       description)
    if missing:
        description = f"Expected an expression to complete {missing.group(2).upper()}"
    elif description.startswith("Invalid expression / Unexpected token"):
        description = "Unexpected token"
    return syntax_error_at(text, offset, description)


def syntax_error_at(text: str, offset: int, description: str) -> SyntaxError_:
    """ClickHouse's wording: ``failed at position N ('tok') (line L, col C): rest. why``."""
    toks = [t for t in _safe_tokens(text) if t.start >= offset]
    near = text[toks[0].start: toks[0].end + 1] if toks else "end of query"
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    rest = text[offset: offset + 60].split("\n")[0]
    where = f"failed at position {offset + 1} ('{near}') (line {line}, col {col})"
    return SyntaxError_(f"Syntax error: {where}: {rest}. {description}")


def _safe_tokens(text: str) -> list:
    try:
        return tokenize(text)
    except SyntaxError_:
        return []


def _parse(text: str, tokens: list[Token] | None = None) -> exp.Expression:
    try:
        if tokens is None:
            trees = [t for t in sqlglot.parse(text, read="clickhouse") if t is not None]
        else:  # what sqlglot.parse does after tokenising
            trees = [t for t in _CLICKHOUSE.parser().parse(tokens, text) if t is not None]
    except ParseError as e:
        raise _syntax_error(text, e) from None
    except TokenError as e:
        raise SyntaxError_(f"Syntax error: {e}") from None
    if not trees:
        raise SyntaxError_("Empty query")
    if len(trees) > 1:
        raise SyntaxError_("Multi-statements are not allowed")
    return trees[0]


_QUERY_WORDS = {"SELECT", "WITH", "DESCRIBE", "DESC", "SHOW", "EXPLAIN", "FROM", "VALUES", "(",
                "EXISTS"}


def _refuse_by_first_word(text: str, tokens: list[Token] | None = None) -> None:
    """``INSTALL x``, ``SYSTEM ...``: statements sqlglot's ClickHouse parser would misread (as
    an alias, say) are told apart by their first word, before parsing."""
    tokens = _safe_tokens(text) if tokens is None else tokens
    if not tokens:
        return
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a.text.upper() == "INTO" and b.text.upper() == "OUTFILE":
            raise refuse("SELECT ... INTO OUTFILE", "writing files is disabled in this sandbox; "
                         "use FORMAT and redirect the output instead")
    word = tokens[0].text.upper()
    if word in _QUERY_WORDS:
        return
    if word in _WRITE_COMMANDS:
        raise refuse(word)
    if word in _OTHER_STATEMENTS:
        raise NotImplemented_(f"{word} is not supported; use SELECT, DESCRIBE or SHOW TABLES")
    raise syntax_error_at(text, tokens[0].start,
                          "Expected one of: SELECT, WITH, DESCRIBE, SHOW, EXPLAIN")


#: Real ClickHouse statements that this read-only session does not run (not syntax errors).
_OTHER_STATEMENTS = {"CHECK", "EXISTS", "SET", "KILL", "WATCH", "UNDROP", "PARALLEL"}


def _translate_clickhouse(text: str, *, count_before_limit: bool = False,
                          tokens: list[Token] | None = None) -> Translation:
    exists = _exists(text.strip().rstrip(";"))
    if exists is not None:
        return exists
    _refuse_by_first_word(text, tokens)
    tree = _parse(text, tokens)
    for kind, word in _WRITES.items():
        if isinstance(tree, kind):
            raise refuse(word)
    if isinstance(tree, exp.Command):
        return _command(tree)
    if isinstance(tree, exp.Describe):
        return _describe(tree)
    if not isinstance(tree, exp.Query):
        raise NotImplemented_(f"{type(tree).__name__.upper()} is not supported; "
                              "use SELECT, DESCRIBE or SHOW TABLES")

    fmt = tree.args.get("format")
    tree.set("format", None)
    limits = _check_settings(tree.args.get("settings") or [])
    tree.set("settings", None)
    _refuse_unsupported(tree)
    tables = _rewrite_tables(tree)
    type_of = _column_types(tables)
    _array_join(tree)
    _limit_by(tree)
    _with_ties(tree)
    top = _top_select(tree)
    names = [naming.column_name(p, text) for p in top.expressions] if top is not None else []
    names = naming.distinct_names(top.expressions, names) if top is not None else []
    _scalar_with(tree)
    _several_array_joins(tree)
    hints = naming.type_hints(top, tables, names) if top is not None else {}
    nullable = naming.nullable_outputs(top, tree, tables, names) if top is not None else set()
    fix_functions(tree, type_of)
    if top is not None:
        for projection, name in zip(list(top.expressions), names, strict=True):
            if name is not None:
                projection.replace(exp.alias_(projection, name, quoted=True))
    counter = _count_before_limit(tree) if count_before_limit else None
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


def _count_before_limit(tree: exp.Expression) -> str | None:
    """Add ``count(*) OVER ()`` to a ``SELECT ... LIMIT``: windows run before LIMIT, so it is
    the row count LIMIT cut from. Not for DISTINCT (windows run before it) or set operations."""
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") is not None:
        return None
    if tree.args.get("limit") is None:
        return None
    window = exp.Window(this=exp.Count(this=exp.Star()))
    tree.select(exp.alias_(window, ROWS_BEFORE_LIMIT, quoted=True), append=True, copy=False)
    return ROWS_BEFORE_LIMIT


def _top_select(tree: exp.Expression) -> exp.Select | None:
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if isinstance(tree, exp.Subquery):
        return _top_select(tree.this)
    return tree if isinstance(tree, exp.Select) else None


#: SETTINGS that do not change the answer here, so they can be dropped: limits and tuning of
#: ClickHouse's engine (DuckDB has its own), logging, the analyzer switch.
_HARMLESS_SETTINGS = {
    "max_threads", "max_block_size", "max_execution_time", "max_memory_usage", "log_queries",
    "log_comment", "use_query_cache", "enable_analyzer", "allow_experimental_analyzer",
    "max_bytes_before_external_group_by", "max_bytes_before_external_sort",
    "readonly", "output_format_pretty_color",
}


def _check_settings(settings: list[exp.Expression]) -> dict[str, str]:
    """A ``SETTINGS`` clause is accepted only when dropping it leaves the answer ClickHouse's:
    ``session_timezone``, ``limit``, ``join_use_nulls``... would change it and cannot be honoured
    per statement here (the session's configuration is locked), so they are refused, not ignored.
    The limits the session honours (``LIMIT_SETTINGS``) are returned, their values as written.
    """
    limits: dict[str, str] = {}
    for setting in settings:
        name = setting.this.name if isinstance(setting, exp.EQ) else setting.name
        value = setting.expression if isinstance(setting, exp.EQ) else None
        lowered = name.lower()
        if lowered in LIMIT_SETTINGS:
            limits[lowered] = (value.this if isinstance(value, exp.Literal)
                               else value.sql(dialect="clickhouse") if value is not None else "")
            continue
        if lowered == "output_format_pretty_color" and value is not None and \
                value.name.lower() not in ("0", "false", "auto"):
            raise NotImplemented_("SETTINGS output_format_pretty_color: colours are not "
                                  "supported; Pretty formats print without them")
        if lowered in _HARMLESS_SETTINGS:
            continue
        if lowered == "session_timezone":
            raise NotImplemented_("SETTINGS session_timezone cannot be changed per query here; "
                                  "open the session in that zone (sqlbridge.connect(loader, "
                                  "time_zone=...), asl sql --time-zone ...)")
        # NOT_IMPLEMENTED, not UNKNOWN_SETTING: the setting is ClickHouse's, and is real.
        raise NotImplemented_(f"SETTINGS {name} is not supported here (dropping it could "
                              "change the answer); remove it from the query")
    return limits


def _refuse_unsupported(tree: exp.Expression) -> None:
    for node in tree.find_all(exp.TableSample):
        table = node.parent
        name = table.sql(dialect="clickhouse").split(" ")[0] if isinstance(table, exp.Table) \
            else "this table"
        raise SamplingNotSupported(f"Storage {name} doesn't support sampling (SAMPLE needs a "
                                   "MergeTree table with a sampling key); use LIMIT, or "
                                   "WHERE rand() % 2 = 0")
    for group in tree.find_all(exp.Group):
        if group.args.get("totals"):
            raise NotImplemented_("WITH TOTALS is not supported; add a UNION ALL with the totals")
    for group in tree.find_all(exp.Group):
        for key in ("rollup", "cube"):
            if any(not m.expressions for m in group.args.get(key) or []):
                raise NotImplemented_(f"WITH {key.upper()} is not supported (ClickHouse fills "
                                      "the rolled-up keys with defaults, DuckDB with NULL); add "
                                      "a UNION ALL with the totals")
    if tree.find(exp.WithFill) is not None:
        raise NotImplemented_("ORDER BY ... WITH FILL is not supported; the gaps can be made "
                              "with numbers() and a LEFT JOIN")
    for node in tree.find_all(exp.In):
        node.set("is_global", None)  # GLOBAL IN is IN on a single server
    if tree.find(exp.Final) is not None:
        raise NotImplemented_("FINAL is meaningless here: system tables have no parts to merge")
    for node in tree.find_all(exp.Table):
        func = node.this
        if isinstance(func, exp.Anonymous) and func.name.lower() in _OUTSIDE_TABLE_FUNCTIONS:
            raise refuse(f"table function {func.name}()", "reading files, URLs or other "
                         "servers is disabled in this sandbox; query the system tables instead")


def _system_name(table: exp.Table) -> str | None:
    """``asynchronous_loader`` for ``system.asynchronous_loader`` (any case), else None."""
    if table.args.get("catalog") is not None or not table.args.get("db"):
        return None
    if table.db.lower() != "system" or not isinstance(table.this, exp.Identifier):
        return None
    name = table.name.lower()
    return name if name in catalog.SYSTEM_TABLES or name in STATIC_TABLES else None


def _rewrite_tables(tree: exp.Expression) -> set[str]:
    used: set[str] = set()
    for table in list(tree.find_all(exp.Table)):
        func = table.this
        if isinstance(func, exp.Anonymous) and func.name.lower() == "numbers":
            table.replace(_numbers(func, table.alias or "numbers"))
            used.add("numbers")  # its UInt64 ``number`` column (see _column_types)
            continue
        name = _system_name(table)
        if name is None:
            continue
        used.add(name)
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        table.set("db", exp.to_identifier(catalog.INTERNAL_SCHEMA))
        table.set("this", exp.to_identifier(name))
        table.set("alias", alias)
    return used


def _numbers(func: exp.Anonymous, alias: str) -> exp.Expression:
    """ClickHouse ``numbers(n)`` / ``numbers(a, n)``: a ``number`` column, as DuckDB's ``range``."""
    # BIGINT: numbers(1e6) is valid ClickHouse, and DuckDB's range() takes no DOUBLE.
    args = [exp.Cast(this=a, to=exp.DataType.build("BIGINT")) for a in func.expressions]
    bounds = args if len(args) == 1 else [args[0], exp.Add(this=args[0], expression=args[1])]
    rng = exp.Table(this=exp.Anonymous(this="range", expressions=bounds))
    number = exp.Cast(this=exp.column("range"), to=exp.DataType.build("UBIGINT", dialect="duckdb"))
    query = exp.select(exp.alias_(number, "number")).from_(rng)
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _column_types(tables: set[str]) -> Callable[[exp.Expression], str | None]:
    types: dict[str, str] = {"number": "UInt64"} if "numbers" in tables else {}
    for name in tables:
        if name in catalog.SYSTEM_TABLES:
            for c in catalog.SYSTEM_TABLES[name].columns:
                types.setdefault(c.name, c.clickhouse_type)

    def type_of(e: exp.Expression) -> str | None:
        return types.get(e.name) if isinstance(e, exp.Column) else None

    return type_of


def _array_join(tree: exp.Expression) -> None:
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


def _scalar_with(tree: exp.Expression) -> None:
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


def _several_array_joins(tree: exp.Expression) -> None:
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


def _with_ties(tree: exp.Expression) -> None:
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


def _limit_by(tree: exp.Expression) -> None:
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


def _command(tree: exp.Command) -> Translation:
    word = tree.name.upper()
    rest = tree.expression
    rest = rest.name if isinstance(rest, exp.Expression) else str(rest or "")
    if word == "SHOW":
        parts = rest.split()
        fmt = None
        if len(parts) >= 2 and parts[-2].upper() == "FORMAT":
            fmt, parts = parts[-1], parts[:-2]
        words = [p.upper() for p in parts]
        if words in (["TABLES"], ["TABLES", "FROM", "SYSTEM"], ["TABLES", "IN", "SYSTEM"]):
            names = pa.table({"name": [t.name for t in catalog.SYSTEM_TABLES.values()]})
            return Translation(sql=None, result=names, format=fmt)
        if len(words) == 3 and words[0] == "COLUMNS" and words[1] in ("FROM", "IN"):
            return Translation(sql=None, result=_show_columns(parts[2]), format=fmt)
        if words == ["DATABASES"]:
            return Translation(sql=None, result=pa.table({"name": ["system"]}), format=fmt)
        raise NotImplemented_(f"SHOW {rest} is not supported; try SHOW TABLES FROM system")
    if word == "EXPLAIN":
        return _explain(rest)
    if word in _WRITE_COMMANDS:
        raise refuse(word)
    raise NotImplemented_(f"{word} is not supported; use SELECT, DESCRIBE or SHOW TABLES")


def _system_table_named(name: str) -> catalog.SystemTable:
    """``system.asynchronous_loader`` (any case, optional backquotes) -> our table, or raise."""
    plain = name.replace("`", "").replace('"', "")
    db, _, table = plain.rpartition(".")
    found = catalog.SYSTEM_TABLES.get(table.lower()) if db.lower() == "system" else None
    if found is None:
        raise UnknownTable(f"Table {plain} does not exist. The system tables are: "
                           f"{catalog.system_table_list()}")
    return found


def _show_columns(name: str) -> pa.Table:
    """``SHOW COLUMNS FROM system.x``: ClickHouse's six columns, sorted by name."""
    columns = sorted(_system_table_named(name).columns, key=lambda c: c.name)
    return pa.table({
        "field": [c.name for c in columns],
        "type": [c.clickhouse_type for c in columns],
        "null": ["YES" if c.clickhouse_type.startswith("Nullable(") else "NO" for c in columns],
        "key": [""] * len(columns),
        "default": pa.array([None] * len(columns), pa.string()),
        "extra": [""] * len(columns),
    })


def _exists(text: str) -> Translation | None:
    """``EXISTS [TABLE] system.x``: 1 for our tables, 0 otherwise (``result``, a UInt8)."""
    words = text.split()
    if len(words) > 2 and words[-2].upper() == "FORMAT":
        fmt, words = words[-1], words[:-2]
    else:
        fmt = None
    if not words or words[0].upper() != "EXISTS" or len(words) not in (2, 3):
        return None
    if len(words) == 3 and words[1].upper() not in ("TABLE", "VIEW", "DICTIONARY"):
        return None
    try:
        found = 1 if _system_table_named(words[-1]) else 0
    except UnknownTable:
        found = 0
    return Translation(sql=None, result=pa.table({"result": pa.array([found], pa.uint8())}),
                       format=fmt)


def _explain(rest: str) -> Translation:
    """``EXPLAIN [PLAN] q``: DuckDB's plan for ``q``; ``EXPLAIN SYNTAX q``: the DuckDB SQL ``q``
    is translated to (ClickHouse shows its own rewritten query there; ours is the translation,
    which is what one wants to see when a query answers something unexpected)."""
    head, _, tail = rest.strip().partition(" ")
    kind = head.upper()
    if kind in ("PLAN", "SYNTAX"):
        rest = tail
    elif kind in ("AST", "PIPELINE", "ESTIMATE", "QUERY", "TABLE", "ANALYZE", "INDEXES"):
        raise NotImplemented_(f"EXPLAIN {kind} is not supported; use EXPLAIN PLAN or EXPLAIN "
                              "SYNTAX")
    else:
        kind = "PLAN"
    inner = _translate_clickhouse(rest)
    if inner.sql is None or inner.describe:
        raise NotImplemented_("EXPLAIN needs a SELECT query")
    if kind == "SYNTAX":
        return Translation(sql=None, result=pa.table({"explain": inner.sql.split("\n")}),
                           format=inner.format)
    return Translation(sql=inner.sql, format=inner.format, tables=inner.tables, explain=True)


def _describe(tree: exp.Describe) -> Translation:
    fmt = None
    for prop in tree.expressions or []:
        if isinstance(prop, exp.FileFormatProperty):
            fmt = prop.name
    target = tree.this
    if isinstance(target, exp.Table):
        name = _system_name(target)
        if name in catalog.SYSTEM_TABLES:
            return Translation(sql=None, result=catalog.describe(catalog.SYSTEM_TABLES[name]),
                               format=fmt)
        if name is not None:
            return Translation(sql=f"DESCRIBE {catalog.INTERNAL_SCHEMA}.{name}", format=fmt,
                               describe=True)
        if target.db.lower() == "system" and not target.args.get("catalog"):
            raise UnknownTable(f"Table system.{target.name} does not exist. "
                               f"The system tables are: {catalog.system_table_list()}")
    inner = _translate_clickhouse(target.sql(dialect="clickhouse")) \
        if isinstance(target, exp.Query) else None
    sql = f"DESCRIBE {inner.sql}" if inner is not None else f"DESCRIBE {target.sql('duckdb')}"
    return Translation(sql=sql, format=fmt, describe=True,
                       tables=inner.tables if inner is not None else frozenset())


# ------------------------------------------------------------------------------------- DuckDB --

_FORMAT_FOLLOWERS = {"LIMIT", "OFFSET", "SETTINGS"}


def _translate_duckdb(text: str, tokens: list[Token] | None = None) -> Translation:
    if tokens is None:
        tokens = tokenize(text, "duckdb")
    edits: list[tuple[int, int, str]] = []  # (start, end_exclusive, replacement)
    tables: set[str] = set()
    fmt = None
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if (
            depth == 0 and tok.token_type != TokenType.STRING and tok.text.upper() == "FORMAT"
            and nxt is not None and nxt.token_type != TokenType.STRING and nxt.text.isidentifier()
            and (after is None or after.text.upper() in _FORMAT_FOLLOWERS)
            and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
        ):
            fmt = nxt.text
            edits.append((tok.start, nxt.end + 1, ""))
        if (
            tok.text.lower() == "system" and tok.token_type != TokenType.STRING
            and nxt is not None and nxt.token_type == TokenType.DOT and after is not None
            and after.token_type != TokenType.STRING
            and (after.text.lower() in catalog.SYSTEM_TABLES or after.text.lower() in STATIC_TABLES)
            and (i + 3 >= len(tokens) or tokens[i + 3].token_type != TokenType.DOT)
            and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
        ):
            name = after.text.lower()
            if name in catalog.SYSTEM_TABLES:
                tables.add(name)
            edits.append((tok.start, after.end + 1, f"{catalog.INTERNAL_SCHEMA}.{name}"))
    sql, position = _apply(text, edits)
    return Translation(sql=sql.strip(), format=fmt, tables=frozenset(tables), position=position)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, Callable[[int], int | None]]:
    out: list[str] = []
    spans: list[tuple[int, int]] = []  # (offset in new text, offset in old text) at each edit end
    last = 0
    for start, end, repl in sorted(edits):
        out.append(text[last:start])
        out.append(repl)
        last = end
        spans.append((sum(map(len, out)), end))
    out.append(text[last:])
    new = "".join(out)
    lead = len(new) - len(new.lstrip())

    def position(offset: int) -> int | None:
        offset += lead
        old = offset
        for new_end, old_end in spans:
            if offset >= new_end:
                old = old_end + (offset - new_end)
        return min(old, len(text))

    return new, position

"""Keeping a session read-only: what DuckDB is told at setup, and what is refused before running.

Two layers, because each alone has holes:

1. DuckDB configuration, applied once the session's own objects exist (the ENUM type, the views,
   the static tables): ``enable_external_access=false`` (no file, URL or extension access, even
   from functions such as ``read_csv``), no extension auto-install/auto-load, no spilling to a
   temp directory, then ``lock_configuration=true`` so no later ``SET`` can undo any of it.
   ``lock_configuration`` does not stop ``CREATE``/``INSERT`` on the in-memory catalog, though.
2. Every statement is parsed by DuckDB's own parser before it runs (the parser DuckDB will use,
   so no dialect drift): only ``SELECT``-kind statements pass (DuckDB files ``DESCRIBE``,
   ``SHOW``, ``SUMMARIZE``, ``VALUES``, ``FROM x`` there too). ``EXPLAIN ANALYZE INSERT``,
   ``PREPARE``/``EXECUTE``, ``PIVOT`` (which creates a type), ``CALL checkpoint()`` ... are other
   kinds and are refused. Inside a SELECT, ``json_serialize_sql`` gives the parse tree: a
   data-modifying CTE (``WITH t AS (DELETE ... RETURNING *) SELECT ...``, which DuckDB 2.0
   files as a SELECT) is refused, and any
   call to a function that reads files or runs SQL text (``read_csv``, ``read_text``, ``glob``,
   ``query``, ``json_execute_serialized_sql``, ``nextval``...) is refused with a clear message
   instead of DuckDB's "Permission Error" from layer 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from sqlbridge.errors import Readonly, SyntaxError_, TooBigAst

#: Settings applied before the configuration is locked.
HARDENING = (
    "SET GLOBAL temp_directory = ''",  # before external access goes: it guards this setting too
    "SET GLOBAL enable_external_access = false",
    "SET GLOBAL autoinstall_known_extensions = false",
    "SET GLOBAL autoload_known_extensions = false",
    "SET GLOBAL allow_community_extensions = false",
    "SET GLOBAL python_enable_replacements = false",
    "SET GLOBAL lock_configuration = true",
)

_DENIED_FUNCTIONS = {
    "glob", "sniff_csv", "query", "query_table", "json_execute_serialized_sql", "getenv",
    "nextval", "currval", "setval", "checkpoint", "force_checkpoint", "enable_logging",
    "disable_logging", "truncate_duckdb_logs", "load_aws_credentials", "duckdb_secrets",
    "which_secret", "read_text", "read_blob", "parquet_scan", "delta_scan", "iceberg_scan",
    "sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_attach", "mysql_scan",
    "install_extension", "load_extension", "duckdb_logs",
}
_DENIED_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_",
                    "json_execute", "http")

_REFUSED_KINDS = {
    "CREATE": "CREATE", "INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE",
    "DROP": "DROP", "ALTER": "ALTER (or COMMENT ON)", "COPY": "COPY", "ATTACH": "ATTACH",
    "DETACH": "DETACH", "LOAD": "INSTALL/LOAD", "SET": "SET/RESET/USE", "PRAGMA": "PRAGMA",
    "CALL": "CALL (or CHECKPOINT)", "EXPORT": "EXPORT DATABASE", "PREPARE": "PREPARE",
    "EXECUTE": "EXECUTE", "TRANSACTION": "BEGIN/COMMIT/ROLLBACK", "VACUUM": "VACUUM",
    "EXPLAIN": "EXPLAIN", "MULTI": "PIVOT (it creates types)",
    "UPDATE_EXTENSIONS": "UPDATE EXTENSIONS",
}

_WHY = ("the session is read-only and sandboxed (no changes to the database, no files, no "
        "extensions, no settings). Use SELECT over system.asynchronous_loader and "
        "system.asynchronous_loader_pools")


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the sandbox settings and lock them; call after creating the session's objects."""
    for statement in HARDENING:
        con.execute(statement)


def check(con: duckdb.DuckDBPyConnection, sql: str, *, exposed: bool = False) -> None:
    """Raise ``Readonly`` unless ``sql`` is one read-only SELECT-kind statement; ``exposed``
    (a session served to others) also refuses DuckDB's metadata (``_refuse_metadata``)."""
    statements = con.extract_statements(sql)  # a ParserException is the caller's SYNTAX_ERROR
    if len(statements) != 1:
        raise SyntaxError_("Multi-statements are not allowed")
    try:
        kind = statements[0].type.name
    except ValueError:
        # A kind this duckdb build's Python enum does not even know (UPDATE EXTENSIONS).
        raise Readonly(f"Cannot execute this statement in readonly mode: {_WHY}") from None
    if kind != "SELECT":
        what = _REFUSED_KINDS.get(kind, kind)
        raise Readonly(f"Cannot execute {what} in readonly mode: {_WHY}")
    serialized = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0]
    tree = json.loads(serialized[0]) if serialized else {}
    if tree.get("error"):
        raise Readonly(f"Cannot execute this statement in readonly mode: {_WHY}")
    _refuse_too_big(tree)
    for kind in _query_node_kinds(tree):
        if kind not in _READ_NODES:
            what = kind.removesuffix("_QUERY_NODE").removesuffix("_NODE").replace("_", " ")
            raise Readonly(f"Cannot execute {what} inside a query (a data-modifying WITH) in "
                           f"readonly mode: {_WHY}")
    for name in _function_names(tree):
        if _denied(name):
            raise Readonly(f"Cannot execute {name}() in readonly mode: it reads files or runs "
                           f"SQL text, and {_WHY}")
    for node in _nodes(tree):
        # ``FROM '/some/file.parquet'`` is DuckDB's replacement scan of a file.  No table of
        # the session has a '/', '\\' or '.' in its name, and a session reading a history
        # lets DuckDB open that history's files (``sqlbridge.history.live``), so refuse here.
        if node.get("type") == "BASE_TABLE" and any(
                c in str(node.get("table_name", "")) for c in "/\\."):
            raise Readonly(f"Cannot read the file {node.get('table_name')!r} in readonly mode: "
                           f"{_WHY}")
    if exposed:
        _refuse_metadata(tree)


#: ClickHouse's ``max_ast_elements`` default; here counted as nodes of DuckDB's parse tree.
MAX_AST_ELEMENTS = 50_000
#: DuckDB plans a chain of UNIONs in time that grows faster than its length (20k branches:
#: 90 s of CPU), so long chains are refused well before they cost seconds.
MAX_SET_OPERATIONS = 1000


def _refuse_too_big(tree: Any) -> None:
    """Refuse a statement too big to plan in reasonable time, before DuckDB plans it."""
    elements = set_operations = 0
    for node in _nodes(tree):
        elements += 1
        if node.get("type") == "SET_OPERATION_NODE":  # UNION ALL chains come flattened
            set_operations += max(len(node.get("children") or ()), 2) - 1
    if elements > MAX_AST_ELEMENTS:
        raise TooBigAst(f"AST is too big. Maximum: {MAX_AST_ELEMENTS} (this statement has "
                        f"{elements} parts); split it, or filter with a join on a smaller list")
    if set_operations > MAX_SET_OPERATIONS:
        raise TooBigAst(f"AST is too big: {set_operations} UNION/INTERSECT/EXCEPT branches, at "
                        f"most {MAX_SET_OPERATIONS} here; split the query")


def _denied(name: str) -> bool:
    name = name.lower()
    return name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES)


#: Parse-tree query nodes that only read. DuckDB 2.0 accepts ``WITH t AS (DELETE ... RETURNING
#: *) SELECT * FROM t`` as a SELECT statement: its CTE holds a DELETE_QUERY_NODE.
_READ_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}


def _query_node_kinds(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE"):
            yield kind
        for value in node.values():
            yield from _query_node_kinds(value)
    elif isinstance(node, list):
        for value in node:
            yield from _query_node_kinds(value)


def _function_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("class") == "FUNCTION" and isinstance(node.get("function_name"), str):
            yield node["function_name"]
        for value in node.values():
            yield from _function_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _function_names(value)


# -- what an HTTP client may see (``check(exposed=True)``) -----------------------------------------

#: Schemas and catalogs of DuckDB's own metadata (its settings, its catalog, the session's
#: internal objects and their CREATE statements).
_METADATA_SCHEMAS = {"information_schema", "pg_catalog"}
_METADATA_CATALOGS = {"system", "temp"}
_METADATA_PREFIXES = ("duckdb_", "pragma_", "sqlite_")


def _refuse_metadata(tree: Any) -> None:
    """For a session served to others (the HTTP endpoint): besides ``check``, refuse DuckDB's
    metadata (``duckdb_settings()``, ``system.main.duckdb_tables``, ``information_schema``,
    ``pragma_*``, ``current_setting`` of anything but the zone), answered as ClickHouse answers
    a function or table it does not have, so a client sees only the system tables, never the
    host's settings, paths or the session's internals."""
    from sqlbridge import catalog
    from sqlbridge.errors import UnknownFunction, UnknownTable

    for node in _nodes(tree):
        if node.get("class") == "FUNCTION" and isinstance(node.get("function_name"), str):
            name = node["function_name"].lower()
            if name.startswith(_METADATA_PREFIXES) or (
                    name == "current_setting" and not _is_time_zone_argument(node)):
                raise UnknownFunction(f"Unknown function {node['function_name']}: DuckDB's "
                                      "own metadata is not served here. The tables are: "
                                      f"{catalog.system_table_list()}")
        elif node.get("type") == "BASE_TABLE":
            table = str(node.get("table_name", "")).lower()
            schema = str(node.get("schema_name", "")).lower()
            where = str(node.get("catalog_name", "")).lower()
            if where in _METADATA_CATALOGS or schema in _METADATA_SCHEMAS \
                    or table.startswith(_METADATA_PREFIXES):
                shown = ".".join(p for p in (node.get("catalog_name"), node.get("schema_name"),
                                             node.get("table_name")) if p)
                raise UnknownTable(f"Table {shown} does not exist. The system tables are: "
                                   f"{catalog.system_table_list()}")


def _is_time_zone_argument(node: dict) -> bool:
    arguments = node.get("arguments") or node.get("children") or []
    if len(arguments) != 1:
        return False
    argument = arguments[0].get("expression", arguments[0]) if isinstance(arguments[0], dict) \
        else {}
    literal = argument.get("literal") or argument.get("value") or {}
    text = literal.get("text") if isinstance(literal, dict) else None
    return isinstance(text, str) and text.lower() == "timezone"


def _nodes(tree: Any) -> Iterator[dict]:
    stack = [tree]
    while stack:  # iterative: the tree may be deeper than Python's recursion limit
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)

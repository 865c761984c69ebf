"""What a read-only session refuses before it runs anything, and with which error: writes and
commands (READONLY), statements and clauses not supported here (NOT_IMPLEMENTED), ``SAMPLE``
(SAMPLING_NOT_SUPPORTED), table functions that reach outside the process, and ``SETTINGS`` that
would change the answer (harmless ones are dropped; the limits the session honours are kept)."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import Token

from sqlbridge.errors import (
    NotImplemented_,
    Readonly,
    SamplingNotSupported,
)
from sqlbridge.limits import LIMIT_SETTINGS
from sqlbridge.translate.parsing import safe_tokens, syntax_error_at

#: ClickHouse table functions that reach outside the process.
_OUTSIDE_TABLE_FUNCTIONS = {
    "file", "url", "s3", "s3cluster", "hdfs", "remote", "remotesecure", "mysql", "postgresql",
    "jdbc", "odbc", "input", "executable", "azureblobstorage", "gcs", "iceberg", "deltalake",
    "hudi", "sqlite", "mongodb", "redis", "cluster", "clusterallreplicas", "fuzzjson", "merge",
}


#: Statement kinds refused up front, with the word used in the message.
WRITES: dict[type[exp.Expression], str] = {
    exp.Insert: "INSERT", exp.Create: "CREATE", exp.Drop: "DROP", exp.Delete: "DELETE",
    exp.Update: "UPDATE", exp.Alter: "ALTER", exp.Set: "SET", exp.Use: "USE",
    exp.Merge: "MERGE", exp.TruncateTable: "TRUNCATE", exp.Copy: "COPY", exp.Pragma: "PRAGMA",
    exp.Attach: "ATTACH", exp.Detach: "DETACH", exp.Install: "INSTALL",
}
WRITE_COMMANDS = {
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


_QUERY_WORDS = {"SELECT", "WITH", "DESCRIBE", "DESC", "SHOW", "EXPLAIN", "FROM", "VALUES", "(",
                "EXISTS"}


#: Real ClickHouse statements that this read-only session does not run (not syntax errors).
_OTHER_STATEMENTS = {"CHECK", "EXISTS", "SET", "KILL", "WATCH", "UNDROP", "PARALLEL"}


def refuse_by_first_word(text: str, tokens: list[Token] | None = None) -> None:
    """``INSTALL x``, ``SYSTEM ...``: statements sqlglot's ClickHouse parser would misread (as
    an alias, say) are told apart by their first word, before parsing."""
    tokens = safe_tokens(text) if tokens is None else tokens
    if not tokens:
        return
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a.text.upper() == "INTO" and b.text.upper() == "OUTFILE":
            raise refuse("SELECT ... INTO OUTFILE", "writing files is disabled in this sandbox; "
                         "use FORMAT and redirect the output instead")
    word = tokens[0].text.upper()
    if word in _QUERY_WORDS:
        return
    if word in WRITE_COMMANDS:
        raise refuse(word)
    if word in _OTHER_STATEMENTS:
        raise NotImplemented_(f"{word} is not supported; use SELECT, DESCRIBE or SHOW TABLES")
    raise syntax_error_at(text, tokens[0].start,
                          "Expected one of: SELECT, WITH, DESCRIBE, SHOW, EXPLAIN")


#: SETTINGS that do not change the answer here, so they can be dropped: limits and tuning of
#: ClickHouse's engine (DuckDB has its own), logging, the analyzer switch.
HARMLESS_SETTINGS = {
    "max_threads", "max_block_size", "max_execution_time", "max_memory_usage", "log_queries",
    "log_comment", "use_query_cache", "enable_analyzer", "allow_experimental_analyzer",
    "max_bytes_before_external_group_by", "max_bytes_before_external_sort",
    "readonly", "output_format_pretty_color",
}


def check_settings(settings: list[exp.Expression]) -> dict[str, str]:
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
        if lowered in HARMLESS_SETTINGS:
            continue
        if lowered == "session_timezone":
            raise NotImplemented_("SETTINGS session_timezone cannot be changed per query here; "
                                  "open the session in that zone (sqlbridge.connect(loader, "
                                  "time_zone=...), asl sql --time-zone ...)")
        # NOT_IMPLEMENTED, not UNKNOWN_SETTING: the setting is ClickHouse's, and is real.
        raise NotImplemented_(f"SETTINGS {name} is not supported here (dropping it could "
                              "change the answer); remove it from the query")
    return limits


def refuse_unsupported(tree: exp.Expression) -> None:
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

"""DuckDB exceptions -> ClickHouse-coded ``QueryError``s whose message says what to do next.

Users of this package read ``Code: 60. DB::Exception: ...`` on a CLI, over HTTP or in a notebook;
they never see DuckDB's exception classes. DuckDB's messages are kept (they are precise) but
re-worded where they leak internals (the ``asl_system`` schema), and given the ClickHouse code a
ClickHouse user would expect. Positions are 1-based character offsets into the user's statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb

from sqlbridge import catalog, errors
from sqlbridge.translate import syntax_error_at

_LINE = re.compile(r"^LINE (\d+): (.*)$")


def _first_line(message: str) -> str:
    body = message.split("\n\nLINE ")[0].strip()
    body = re.sub(r"^[A-Za-z ]+ Error: ", "", body)
    return body.replace(catalog.INTERNAL_SCHEMA, "system")


def _duck_offset(message: str, sql: str) -> int | None:
    """The offset DuckDB's ``LINE n: ...`` caret points at, within ``sql``."""
    lines = message.split("\n")
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m and i + 1 < len(lines) and "^" in lines[i + 1]:
            caret = lines[i + 1].index("^") - (len(line) - len(m.group(2)))
            shown = m.group(2)
            lineno = int(m.group(1))
            sql_lines = sql.split("\n")
            if lineno > len(sql_lines):
                return None
            target = sql_lines[lineno - 1]
            prefix = shown[:caret]
            cut = 3 if prefix.startswith("...") else 0
            at = target.find(prefix[cut:]) if prefix[cut:] else 0
            if at < 0:
                return None
            return sum(len(x) + 1 for x in sql_lines[: lineno - 1]) + at + len(prefix) - cut
    return None


def _as_written(name: str, original: str) -> str:
    """The user's spelling of a function DuckDB names: sqlglot renames some on the way
    (``cityHash64`` -> ``city_hash64``), and the user should see what they wrote."""
    name = name.strip('"')
    key = name.replace("_", "").lower()
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", original):
        if m.group(1).replace("_", "").lower() == key:
            return m.group(1)
    return name


def _near(message: str) -> str | None:
    m = re.search(r'at or near "([^"]*)"', message)
    return m.group(1) if m else None


def from_duckdb(
    exc: duckdb.Error,
    *,
    sql: str,
    original: str,
    position: Callable[[int], int | None],
) -> errors.QueryError:
    """Translate ``exc`` (raised running ``sql``, translated from ``original``)."""
    message = str(exc)
    body = _first_line(message)
    raw = re.search(r"'__asl_raw_(\w+)' failed: (.*)", body)
    if raw:  # the loader's snapshot() itself raised
        return errors.QueryError(f"Taking a snapshot of system.{raw.group(1)} failed: "
                                 f"{raw.group(2)}")
    if isinstance(exc, duckdb.ParserException):
        offset = _duck_offset(message, sql)
        mapped = position(offset) if offset is not None else None
        if mapped is None:
            near = _near(message)
            found = original.lower().find(near.lower()) if near else -1
            mapped = found if found >= 0 else len(original)
        return syntax_error_at(original, mapped, body)
    if isinstance(exc, duckdb.CatalogException):
        m = re.search(r"Table with name (\S+) does not exist", body)
        if m:
            name = m.group(1).strip('"')
            qualified = re.search(r"[\w`\"]+\s*\.\s*[`\"]?" + re.escape(name.split(".")[-1]),
                                  original)
            if qualified and "." not in name:
                name = re.sub(r"[`\"\s]", "", qualified.group(0))
            return errors.UnknownTable(
                f"Table {name} does not exist. The system tables are: "
                f"{catalog.system_table_list()} (DESCRIBE one to see its columns)"
            )
        m = re.search(r"(Scalar|Table|Aggregate|Pragma|Macro) Function with name (\S+) does "
                      r"not exist", body)
        if m:
            hint = re.search(r'Did you mean "([^"]+)"', message)
            maybe = f" Maybe you meant: ['{hint.group(1)}']" if hint else ""
            return errors.UnknownFunction(
                f"Function with name '{_as_written(m.group(2), original)}' does not exist."
                f"{maybe} (functions are "
                "ClickHouse's in the default dialect; dialect='duckdb' takes DuckDB's)"
            )
        m = re.search(r'Catalog "?([^"\s!]+)"? does not exist', body)
        if m:
            return errors.UnknownDatabase(f"Database {m.group(1)} does not exist. Only "
                                          f"system exists here: {catalog.system_table_list()}")
        if "Type with name" in body:
            return errors.UnknownIdentifier(body)
        return errors.UnknownTable(body)
    if isinstance(exc, duckdb.BinderException):
        m = re.search(r'Referenced column "?([^"]+?)"? (?:was )?not found', body)
        # a qualified name (a.nope): DuckDB names the relation by its kind ("Values list")
        q = re.search(r'"([^"]+)" does not have a column named "([^"]+)"', body)
        if m or q:
            bindings = re.search(r"Candidate bindings:(.*)", message)
            cand = re.findall(r'"([^"]+)"', bindings.group(1)) if bindings else []
            maybe = f" Maybe you meant: {cand!r}." if cand else ""
            name = m.group(1) if m else f"{q.group(1)}.{q.group(2)}"
            return errors.UnknownIdentifier(
                f"Unknown expression identifier '{name}'.{maybe} "
                "DESCRIBE system.asynchronous_loader lists the columns"
            )
        if "No function matches" in body or "Could not choose a best candidate" in body:
            return errors.IllegalTypeOfArgument(body.split("\n")[0] + " Add explicit CASTs "
                                                "(e.g. toString(x), toUInt64(x))")
        if "must appear in the GROUP BY clause" in body:
            return errors.NotAnAggregate(body)
        return errors.TypeMismatch(body)
    if isinstance(exc, duckdb.ConversionException):
        lowered = body.lower()
        if "could not convert string" in lowered or "format" in lowered or "parse" in lowered:
            return errors.CannotParseText(body)
        return errors.TypeMismatch(body)
    if isinstance(exc, duckdb.OutOfRangeException):
        return errors.ArgumentOutOfBound(body)
    if isinstance(exc, duckdb.PermissionException):
        return errors.Readonly(f"{body}. The session is sandboxed: no files, URLs or extensions")
    if isinstance(exc, duckdb.InterruptException):
        return errors.QueryWasCancelled(body)
    if isinstance(exc, duckdb.InvalidInputException):
        if body.startswith("Division by zero"):
            # DuckDB's advice (TRY(...), SET error_on_division_by_zero) is not ClickHouse and
            # SET is refused here; ClickHouse's intDiv/modulo say Code 153.
            return errors.IllegalDivision("Division by zero (intDiv and % of integers; '/' "
                                          "answers inf, and nullIf(y, 0) avoids the error)")
        if "configuration has been locked" in body:
            return errors.Readonly(f"{body}. Settings cannot be changed in this session")
        return errors.BadArguments(body)
    return errors.QueryError(body)

"""A drained journal batch -> rows of ``system.asynchronous_loader_log``.

The journal hands over its events as an Arrow table (one row per start or finish, with the
22 columns of SPEC section 3 as of that event) plus the job objects aligned with the rows.
Everything that exists as a column is converted with pyarrow.compute; Python touches a job
object only where a column cannot come from the table: tags (when any job has some), the
result of an OK finish that returned something, and the error of a FAILED or CANCELED one.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from itertools import compress, count, repeat
from operator import attrgetter, is_not
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .schema import LOG_SCHEMA

#: A stored result is at most this many characters of JSON text.
RESULT_LIMIT = 4096
#: A stored traceback keeps at most this many characters (its head and its tail).
TRACEBACK_LIMIT = 64 * 1024

_TAGS_TYPE = pa.map_(pa.string(), pa.string())
_tags_of = attrgetter("tags")
_result_of = attrgetter("result")


def result_json(value: Any, limit: int = RESULT_LIMIT) -> str:
    """``value`` as JSON text of at most ``limit`` characters.

    A value JSON cannot encode, or whose encoding is too long, is stored as a JSON string
    holding its repr (truncated), so the column is always valid JSON for JSONExtract.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if len(text) <= limit:
            return text
    except (TypeError, ValueError, RecursionError):
        text = None
    try:
        # A long string keeps its own text; other values their JSON or, failing that, repr.
        shown = value if isinstance(value, str) else repr(value) if text is None else text
    except Exception:
        shown = f"<unprintable {type(value).__name__}>"
    budget = max(limit - 40, 16)
    while True:
        cut = shown if len(shown) <= budget else (
            shown[:budget] + f"... ({len(shown) - budget} more characters)")
        encoded = json.dumps(cut, ensure_ascii=False)
        if len(encoded) <= limit or budget <= 16:
            return encoded
        budget = budget * 3 // 4  # escapes made it longer than the text


def type_name(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else (
        f"{module}.{cls.__qualname__}")


def bounded_traceback(error: BaseException, limit: int = TRACEBACK_LIMIT) -> str:
    """The full formatted traceback (with its cause chain), keeping head and tail if long."""
    try:
        text = "".join(traceback.format_exception(error))
    except Exception:  # formatting runs user __str__s
        text = f"<traceback of {type(error).__name__} could not be formatted>"
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n... ({len(text) - limit} characters left out) ...\n{text[-tail:]}"


def original_error(error: BaseException, status: str) -> BaseException:
    """What the job function raised, for a FAILED job (the loader's error wraps it as
    ``__cause__``); the loader's own error for a CANCELED one."""
    if status == "FAILED" and error.__cause__ is not None:
        return error.__cause__
    return error


def _whole_seconds(times: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Microsecond instants truncated to the second (integer arithmetic: floor_temporal is
    ten times slower).  Instants before 1970 would round up; a job never starts then."""
    micros = times.cast(pa.int64())
    return pc.multiply(pc.divide(micros, 1_000_000), 1_000_000).cast(times.type)


def _empty_maps(n: int) -> pa.Array:
    return pa.MapArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), n + 1),
                                   pa.array([], pa.string()), pa.array([], pa.string()))


def _sparse(values: dict[int, str], n: int) -> pa.Array:
    """A string column that is NULL except at ``values``' rows (usually none)."""
    if not values:
        return pa.nulls(n, pa.string())
    column: list[str | None] = [None] * n
    for i, v in values.items():
        column[i] = v
    return pa.array(column, pa.string())


def log_table(
    table: pa.Table,
    jobs: Sequence[Any],
    *,
    hostname: str,
    instance: str,
    pid: int,
    version: str,
    redactor: Any = None,
    secrets: set[str] | None = None,
    result_limit: int = RESULT_LIMIT,
) -> pa.Table:
    """One log row per journal event, in ``LOG_SCHEMA``'s column order."""
    n = table.num_rows
    table = table.combine_chunks()
    event = table.column("event")
    event_time = table.column("event_time")
    status = table.column("status")
    if pa.types.is_dictionary(status.type):
        status = status.cast(pa.string())
    finish = pc.equal(event, 2)

    # Tags: most jobs have none, and then no Python per row is needed.
    secrets = set() if secrets is None else secrets
    if any(map(_tags_of, jobs)):
        tag_dicts = [job.tags for job in jobs]
        if redactor is not None:
            tag_dicts = [redactor.tags(t, secrets) if t else t for t in tag_dicts]
        tags = pa.array([list(t.items()) if t else [] for t in tag_dicts], _TAGS_TYPE)
    else:
        tags = _empty_maps(n)

    # Results: one attribute read per row, then JSON only for the OK finishes that
    # returned something (an empty job returns None).
    results: dict[int, str] = {}
    returned = list(compress(count(), map(is_not, map(_result_of, jobs), repeat(None))))
    if returned:
        ok = pc.and_(finish, pc.equal(status, "OK")).to_pylist()
        for i in returned:
            if ok[i]:
                results[i] = result_json(jobs[i].result, result_limit)
    error_types: dict[int, str] = {}
    tracebacks: dict[int, str] = {}
    bad = pc.and_(finish, pc.is_in(status, pa.array(["FAILED", "CANCELED"])))
    if pc.any(bad).as_py():
        statuses = status.to_pylist()
        for i in pc.indices_nonzero(bad).to_pylist():
            error = jobs[i].exception
            if error is None:
                continue
            original = original_error(error, statuses[i])
            error_types[i] = type_name(original)
            if statuses[i] == "FAILED":
                # A cancellation's traceback is the loader's own frames; the root failure's
                # traceback is on the FAILED job the cancellation names.
                tracebacks[i] = bounded_traceback(original)

    job = table.column("job")
    exception = table.column("exception")
    result = _sparse(results, n)
    tb = _sparse(tracebacks, n)
    if redactor is not None:
        job, exception, result, tb = (redactor.text(a, secrets)
                                      for a in (job, exception, result, tb))
        if len(tags.values):
            tags = pa.MapArray.from_arrays(tags.offsets, tags.keys,
                                           redactor.text(tags.items, secrets))

    columns: dict[str, Any] = {
        "hostname": pa.repeat(pa.scalar(hostname, pa.string()), n),
        "event_date": event_time.cast(pa.date32()),
        "event_time": _whole_seconds(event_time),
        "event_time_microseconds": event_time,
        "type": pc.if_else(finish, "JobFinish", "JobStart"),
        "status": status,
        "job": job,
        "exception": exception,
        "parent_job_id": table.column("parent_job_id"),
        "tags": tags,
        "result": result,
        "error_type": _sparse(error_types, n),
        "traceback": tb,
        "worker": table.column("worker"),
        "thread_id": table.column("thread_id"),
        "pid": pa.repeat(pa.scalar(pid, pa.uint32()), n),
        "loader_instance": pa.repeat(pa.scalar(instance, pa.string()), n),
        "version": pa.repeat(pa.scalar(version, pa.string()), n),
        "reason": pa.nulls(n, pa.string()),
    }
    arrays = []
    for field in LOG_SCHEMA:
        col = columns[field.name] if field.name in columns else table.column(field.name)
        if col.type != field.type:
            col = col.cast(field.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=LOG_SCHEMA)

"""Job history that outlives the process: a directory of Parquet segments.

``record_history(loader, path)`` records (``sqlbridge.history.recorder``); the schema and the
directory layout are in ``sqlbridge.history.schema``.  Names are loaded on first access so
``import sqlbridge.history`` stays cheap.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "record_history": "sqlbridge.history.recorder",
    "Recorder": "sqlbridge.history.recorder",
    "apply_retention": "sqlbridge.history.retention",
    "Retention": "sqlbridge.history.retention",
    "RetentionReport": "sqlbridge.history.retention",
    "recorders_of": "sqlbridge.history.recorder",
    "recorded_paths": "sqlbridge.history.recorder",
    "Redactor": "sqlbridge.history.redaction",
    "HistoryError": "sqlbridge.history.schema",
    "NotAHistory": "sqlbridge.history.schema",
    "NewerHistoryVersion": "sqlbridge.history.schema",
    "UnwritableHistory": "sqlbridge.history.schema",
    "SCHEMA_VERSION": "sqlbridge.history.schema",
    "HistorySource": "sqlbridge.history.source",
    "History": "sqlbridge.history.reader",
    "CorruptSegment": "sqlbridge.history.reader",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlbridge.history' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)

"""asl's engine: ClickHouse's AsyncLoader in Python.  See ``loader.loader`` for the model."""

from .context import current_job, current_pool_or
from .errors import (
    AsyncLoadCanceled,
    AsyncLoadCycle,
    AsyncLoadError,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LogicalError,
)
from .job import LoadJob, LoadStatus, cancel_on_dependency_failure, ignore_dependency_failure
from .loader import AsyncLoader
from .pool import InvalidArgument, Pool, UnknownPool
from .task import LoadTask, prioritize_load, schedule_load, wait_load

__all__ = [
    "AsyncLoadCanceled", "AsyncLoadCycle", "AsyncLoadError", "AsyncLoadFailed",
    "AsyncLoadWaitFailed", "AsyncLoader", "InvalidArgument", "LoadJob", "LoadStatus",
    "LoadTask", "LogicalError", "Pool", "UnknownPool", "cancel_on_dependency_failure",
    "current_job", "current_pool_or", "ignore_dependency_failure", "prioritize_load",
    "schedule_load", "wait_load",
]

"""asl's engine: ClickHouse's AsyncLoader in Python.  See ``loader.loader`` for the model."""

from .context import add_record_tap, current_job, current_pool_or, remove_record_tap
from .errors import (
    AsyncLoadCanceled,
    AsyncLoadCycle,
    AsyncLoadError,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LogicalError,
)
from .job import LoadJob, LoadStatus, cancel_on_dependency_failure, ignore_dependency_failure
from .journal import JOB_FINISH, JOB_START, JOURNAL_SCHEMA, Journal, JournalBatch
from .loader import AsyncLoader
from .logtags import JOB_TAG_FORMAT, JobTagFilter
from .pool import InvalidArgument, Pool, UnknownPool
from .task import LoadTask, prioritize_load, schedule_load, wait_load

__all__ = [
    "JOB_FINISH", "JOB_START", "JOB_TAG_FORMAT", "JOURNAL_SCHEMA", "JobTagFilter", "Journal",
    "JournalBatch", "AsyncLoadCanceled", "AsyncLoadCycle", "AsyncLoadError", "AsyncLoadFailed",
    "AsyncLoadWaitFailed", "AsyncLoader", "InvalidArgument", "LoadJob", "LoadStatus",
    "LoadTask", "LogicalError", "Pool", "UnknownPool", "add_record_tap",
    "cancel_on_dependency_failure", "current_job", "current_pool_or",
    "ignore_dependency_failure", "prioritize_load", "remove_record_tap", "schedule_load",
    "wait_load",
]

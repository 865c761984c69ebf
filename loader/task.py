"""LoadTask, the owner of a set of jobs, and the schedule/prioritize/wait helpers.

A task is usually returned unscheduled by code like ``load_database_async()``, so callers can
build graphs offline, join several tasks, prioritize, and schedule them together.  Goals are
what other jobs should depend on and what ``wait_load`` waits for.

Python has no deterministic destructor, so unlike ClickHouse a task is never removed by
garbage collection: call ``remove()`` or use it as a context manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import LogicalError
from .job import LoadJob

if TYPE_CHECKING:
    from .loader import AsyncLoader


class LoadTask:
    """A set of jobs owned together; ``remove()`` cancels the pending ones and drops all."""

    def __init__(
        self,
        loader: AsyncLoader,
        jobs: Iterable[LoadJob],
        goals: Iterable[LoadJob] | None = None,
    ) -> None:
        self.loader = loader
        self._jobs: dict[int, LoadJob] = {id(j): j for j in jobs_of(jobs)}
        self._goals: dict[int, LoadJob] = {id(j): j for j in jobs_of(goals or ())}

    @property
    def jobs(self) -> tuple[LoadJob, ...]:
        return tuple(self._jobs.values())

    def jobs_list(self) -> list[LoadJob]:
        return list(self._jobs.values())

    @property
    def goals(self) -> tuple[LoadJob, ...]:
        """The goal jobs, or every job when no goals were given."""
        return tuple((self._goals or self._jobs).values())

    def schedule(self) -> None:
        self.loader.schedule(self)

    def remove(self) -> None:
        """Cancel pending jobs, wait for running ones, and drop them all from the table."""
        if self._jobs:
            # Forget the jobs only once they are removed: an interrupted remove() (Ctrl-C, a
            # waiter hook refusing) can be retried.
            self.loader.remove(self.jobs)
            self._jobs, self._goals = {}, {}

    def merge(self, other: LoadTask) -> None:
        """Move every job and goal of ``other`` into this task; ``other`` ends up empty."""
        if other.loader is not self.loader:
            raise LogicalError("Cannot merge LoadTasks of different AsyncLoaders")
        if other is self:
            return
        self._jobs.update(other._jobs)
        self._goals.update(other._goals)
        other._jobs, other._goals = {}, {}

    def __enter__(self) -> LoadTask:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<LoadTask jobs={len(self._jobs)} goals={len(self.goals)}>"


def jobs_of(target: Any) -> list[LoadJob]:
    """Every job of a LoadJob, a LoadTask, or an iterable of either (nested too)."""
    if isinstance(target, LoadJob):
        return [target]
    if isinstance(target, LoadTask):
        return target.jobs_list()
    if isinstance(target, (str, bytes)) or not isinstance(target, Iterable):
        raise TypeError(
            f"expected a LoadJob, a LoadTask, or an iterable of them; got {type(target).__name__}"
        )
    jobs: list[LoadJob] = []
    for item in target:
        if isinstance(item, LoadJob):
            jobs.append(item)
        else:
            jobs.extend(jobs_of(item))
    return jobs


def _goals_of(target: Any) -> list[LoadJob]:
    """Jobs to prioritize or wait for: a task's goals, or the jobs themselves."""
    if isinstance(target, LoadJob):
        return [target]
    if isinstance(target, LoadTask):
        return list(target.goals)
    goals: list[LoadJob] = []
    for item in target:
        goals.extend(_goals_of(item))
    return goals


def schedule_load(loader: AsyncLoader, target: Any) -> None:
    """Schedule jobs, tasks, or a mix, atomically."""
    loader.schedule(target)


def prioritize_load(loader: AsyncLoader, target: Any, pool: int | str) -> None:
    """Raise jobs (or tasks' goals, and through them their dependencies) to ``pool``."""
    for job in _goals_of(target):
        loader.prioritize(job, pool)


def wait_load(
    loader: AsyncLoader,
    target: Any,
    *,
    pool: int | str | None = None,
    no_throw: bool = False,
    timeout: float | None = None,
) -> list[Any]:
    """Prioritize to ``pool`` (if given), schedule, then wait for every goal; their results.

    The usual call is ``wait_load(loader, task, pool=current_pool_or("ForegroundLoad"))``:
    inside a job, that raises the work to the job's own pool instead of the foreground.
    """
    goals = _goals_of(target)
    if pool is not None:
        for job in goals:
            loader.prioritize(job, pool)
    loader.schedule(target)
    return [loader.wait(job, no_throw=no_throw, timeout=timeout) for job in goals]

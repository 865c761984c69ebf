"""Walks over the job graph: what schedule() adds (and the cycles it refuses), and ancestry.

The graph is the jobs' ``_dependencies`` tuples, frozen once a job is scheduled, so these
walks read no loader state except which loader a job belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import AsyncLoadCycle, LogicalError
from .job import LoadJob

if TYPE_CHECKING:
    from .loader import AsyncLoader


def gather_locked(loader: AsyncLoader, roots: list[LoadJob]) -> list[LoadJob]:
    """The unscheduled jobs reachable from ``roots``: depth-first, each job before its
    dependencies (the reference's order, which fixes the order of job ids).

    The same walk detects cycles: it only enters unscheduled jobs, and a job scheduled
    earlier can never depend on one scheduled now, so any cycle lies among the new jobs.
    Raises ``AsyncLoadCycle`` naming exactly the jobs on the cycle, and ``LogicalError`` for
    a job of another loader, before anything changes.  Called with ``loader``'s lock held
    (a job's ``_loader`` is set under it).
    """
    # Marks in job._walk, unique to this walk so no clean-up is ever needed: an attribute
    # is far cheaper than a dict keyed by id() on a 100k-job graph.
    on_path, done = object(), object()
    new: list[LoadJob] = []
    path: list[LoadJob] = []  # the jobs entered and not yet left; iters[i + 1] is path[i]'s
    iters: list[Iterator[LoadJob]] = [iter(roots)]  # roots: deps of a virtual first job
    top = iters[0]
    while True:
        dep = next(top, None)
        if dep is None:
            iters.pop()
            if not iters:
                break
            top = iters[-1]
            path.pop()._walk = done
            continue
        mark = dep._walk
        if mark is done:
            continue
        if mark is on_path:
            cycle = path[path.index(dep):] + [dep]
            raise AsyncLoadCycle(
                "Load job dependency cycle detected: "
                + " -> ".join(job.name for job in cycle)
            )
        if dep._loader is not None:  # scheduled earlier: ours, or a misuse
            refuse_foreign(loader, dep)
            dep._walk = done
            continue
        dep._walk = on_path
        new.append(dep)
        path.append(dep)
        top = iter(dep._dependencies)
        iters.append(top)
    return new


def refuse_foreign(loader: AsyncLoader, job: LoadJob) -> None:
    """Raise if ``job`` is scheduled in a loader other than ``loader``."""
    if job._loader is not None and job._loader is not loader:
        raise LogicalError(
            f"Load job '{job.name}' is already scheduled in another AsyncLoader; "
            "a job belongs to one loader: build a new LoadJob for this one"
        )


def depends_on(job: LoadJob, ancestor: LoadJob) -> bool:
    """Is ``ancestor`` among the transitive dependencies of ``job``?"""
    seen: set[int] = set()
    stack = list(job._dependencies)
    while stack:
        dep = stack.pop()
        if dep is ancestor:
            return True
        if id(dep) not in seen:
            seen.add(id(dep))
            stack.extend(dep._dependencies)
    return False

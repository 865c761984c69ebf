"""The job filters ``asl graph`` and ``asl timeline`` share: ``--job`` (with ``--direction``
and ``--depth``), ``--database`` and ``--status``, and the rule that the first two need a job.

One definition, so the two commands take the same words with the same meaning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

__all__ = ["job_filter_options", "check_job_filters"]

STATUSES = ["PENDING", "OK", "FAILED", "CANCELED"]


def job_filter_options(status_help: str = "Only jobs with this status (repeatable).",
                       ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorators of the shared filter options, in the order ``--help`` lists them."""
    options = [
        click.option("--job", metavar="NAME|ID",
                     help="Only this job (a name or a job_id) and its relatives."),
        click.option("--direction", type=click.Choice(["dependencies", "dependents", "both"]),
                     default="both", show_default=True,
                     help="With --job: follow what it waits for, what waits for it, or both."),
        click.option("--depth", type=click.IntRange(min=1),
                     help="With --job: at most this many hops."),
        click.option("--database", "databases", multiple=True, metavar="DB",
                     help="Only jobs of this database (repeatable)."),
        click.option("--status", "statuses", multiple=True,
                     type=click.Choice(STATUSES, case_sensitive=False), help=status_help),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def check_job_filters(ctx: click.Context, job: str | None, what: str, *, depth: int | None,
                      direction: str | None) -> None:
    """``--depth`` and ``--direction`` given without ``--job`` are a usage error: they limit
    ``what`` (the graph, the timeline) around one job, and silently ignoring them would draw
    everything."""
    if job is not None:
        return
    for name, value in (("--depth", depth), ("--direction", direction)):
        if value is not None and ctx.get_parameter_source(
                name.lstrip("-")) is not ParameterSource.DEFAULT:
            raise click.UsageError(f"{name} needs --job: it limits the {what} around one "
                                   "job (--job NAME|ID)", ctx)

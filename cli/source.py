"""Where a command's jobs come from: ``--demo``, ``--connect URL`` or ``--history FILE``.

A *source* is anything with ``snapshot()`` (and ``pool_snapshot()``) returning the Arrow tables
of ``loader.AsyncLoader``: that is all ``sqlbridge.connect`` and ``sqlbridge.graph`` need.

``--demo`` is a server start-up from ``cli.scenario`` caught mid-load and held there while the
command runs: one table's load hangs (its storage "stalls"), so the dictionary built from it and
the tables using that dictionary stay blocked; a query waits for one of those tables, which
boosts the whole chain to ForegroundLoad; startup jobs queue in BackgrndStartup behind the
loads; a few loads have failed and canceled their dependents.  Every saved query has something
to show, and the same seed gives the same jobs.  ``asl demo`` runs the same start-up to the end.

The endpoint and history sources come with their own issues; until then they say so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

NO_SOURCE = """\
{command} needs a source of jobs; in this version only --demo works:
  --demo             an embedded, simulated ClickHouse server start-up, caught mid-load
  --connect URL      not available yet: a running asl endpoint (also ASL_URL)
  --history FILE     not available yet: a recorded job history
For example:
  asl {name} --demo {example}"""


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The source options shared by ``sql``, ``query`` and ``graph``."""
    options = [
        click.option("--demo", is_flag=True,
                     help="Use an embedded, simulated server start-up caught mid-load."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="With --demo: the seed of the simulated start-up."),
        click.option("--connect", "connect_url", metavar="URL", envvar="ASL_URL",
                     help="Not available yet (only --demo works today): a running asl "
                          "endpoint (env ASL_URL)."),
        click.option("--history", "history_file", metavar="FILE",
                     type=click.Path(dir_okay=False),
                     help="Not available yet (only --demo works today): a recorded job "
                          "history file."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def check_source(ctx: click.Context, params: dict[str, Any], example: str) -> None:
    """Usage errors (exit 2) for a missing or not-yet-available source, before any import."""
    chosen = [name for name, on in (("--demo", params.get("demo")),
                                    ("--connect", params.get("connect_url")),
                                    ("--history", params.get("history_file"))) if on]
    if not chosen:
        name = ctx.info_name or "sql"
        raise click.UsageError(NO_SOURCE.format(command=f"asl {name}", name=name,
                                                example=example), ctx)
    if "--demo" in chosen:
        return  # --demo wins over an ASL_URL left in the environment
    if params.get("connect_url"):
        raise click.UsageError(
            "--connect (and ASL_URL) needs the asl HTTP endpoint, which this version does not "
            "have yet; use --demo for now", ctx)
    raise click.UsageError(
        "--history needs the job history store, which this version does not have yet; "
        "use --demo for now", ctx)


@contextlib.contextmanager
def open_source(params: dict[str, Any]) -> Iterator[Any]:
    """The source chosen by ``params`` (checked by ``check_source``), closed on exit."""
    with frozen_startup(seed=params.get("seed") or 0) as source:
        yield source


class Frozen:
    """A fixed state: the tables a loader once returned, served again and again."""

    def __init__(self, jobs: Any, pools: Any = None) -> None:
        self.jobs, self.pools = jobs, pools

    def snapshot(self) -> Any:
        return self.jobs

    def pool_snapshot(self) -> Any:
        if self.pools is None:
            from loader.snapshot import POOLS_SCHEMA

            return POOLS_SCHEMA.empty_table()
        return self.pools


@contextlib.contextmanager
def frozen_startup(seed: int = 0, tables: int = 300, threads: int = 4,
                   timeout: float = 30.0) -> Iterator[Any]:
    """A live loader running the demo start-up, held mid-load; see the module docstring."""
    from cli.scenario import Startup, StartupConfig, plan, server_pools
    from loader import AsyncLoader

    base = StartupConfig(seed=seed, tables=tables, time_scale=0.05)
    layout = plan(base)
    target = next(t for t in layout.tables if t.full_name == layout.query_table)
    # Stall the table behind the query table's dictionary (or the query table itself).
    stalled = f"load table {target.full_name}"
    for d in layout.dictionaries:
        if target.dictionaries and d.full_name == target.dictionaries[0]:
            stalled = f"load table {d.source_table}"
    config = StartupConfig(seed=seed, tables=tables, time_scale=0.05,
                           hold=frozenset({stalled}))
    loader = AsyncLoader(server_pools(threads), log_failures=False)
    startup = Startup(loader, config)
    query = None
    try:
        startup.start()
        held = startup.blocked_by_hold()
        deadline = time.monotonic() + timeout
        for job in startup.all_jobs:
            if job.name not in held and job.name.startswith("load "):
                loader.wait(job, no_throw=True, timeout=max(0.0, deadline - time.monotonic()))
        query = threading.Thread(target=functools.partial(startup.query_table, timeout=timeout),
                                 name="asl-demo-query", daemon=True)
        query.start()
        waited = startup.startup_table[layout.query_table].jobs[0]
        while waited.waiters_count == 0 and query.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)
        yield loader
    finally:
        startup.release()
        loader.shutdown()
        if query is not None:
            query.join(timeout)


def output_is_terminal() -> bool:
    """Whether stdout is a terminal (clickhouse-client's test for PrettyCompact)."""
    try:
        return os.isatty(1)
    except OSError:
        return False

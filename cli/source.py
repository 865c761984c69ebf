"""Where a command's jobs come from: ``--demo``, ``--connect URL`` or ``--history PATH``.

A *source* (``sqlbridge.source.JobSource``) is anything with ``snapshot()`` (and
``pool_snapshot()``) returning the Arrow tables of ``loader.AsyncLoader``: that is all
``sqlbridge.connect`` and ``sqlbridge.graph`` need.
``run_statements`` runs SQL text against a source: a local one through a ``sqlbridge`` session
(``cli.run``), a ``--connect`` one (``sqlbridge.endpoint.client.Client``, through ``cli.remote``)
by sending the text to the server, which runs and renders it, so that path never imports
DuckDB, pyarrow or sqlglot.

``--demo`` is a server start-up from ``loader.demo`` caught mid-load and held there while the
command runs: one table's load hangs (its storage "stalls"), so the dictionary built from it and
the tables using that dictionary stay blocked; a query waits for one of those tables, which
boosts the whole chain to ForegroundLoad; startup jobs queue in BackgrndStartup behind the
loads; a few loads have failed and canceled their dependents.  Every saved query has something
to show, and the same seed gives the same jobs.  ``asl demo`` runs the same start-up to the end.

``--connect URL`` (or ``ASL_URL``) is a running endpoint: ``asl demo --serve ADDR``, or
``sqlbridge.serve(loader, ADDR)`` inside the process that owns the loader; its token comes from
``--token`` or ``ASL_TOKEN``. ``--demo`` wins over an ``ASL_URL`` left in the environment.
``--history PATH`` (repeatable; a directory, a glob or a directory of histories) is what
``sqlbridge.record_history`` wrote: ``cli.history`` opens it as a
``sqlbridge.history.HistorySource`` (the log tables, and the last known state of every job).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlbridge.source import JobSource

NO_SOURCE = """\
{command} needs a source of jobs:
  --connect URL      a running asl HTTP endpoint (also ASL_URL; token: ASL_TOKEN), started by
                     asl demo --serve ADDR or sqlbridge.serve(loader, ADDR)
  --demo             an embedded, simulated ClickHouse server start-up, caught mid-load
  --history PATH     a recorded job history (sqlbridge.record_history, asl demo --history):
                     a directory, a glob of them, or a directory of histories; repeatable
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
                     help="A running asl HTTP endpoint: http://HOST:PORT or unix:/PATH "
                          "(env ASL_URL)."),
        click.option("--token", metavar="TOKEN", envvar="ASL_TOKEN",
                     help="With --connect: the endpoint's token (env ASL_TOKEN, which other "
                          "users cannot see the way they see a command line)."),
        click.option("--history", "history_file", metavar="PATH", multiple=True,
                     help="A recorded job history (the directory record_history writes), a "
                          "glob of them or a directory of them; repeat for several."),
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
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} are two sources of jobs; choose one", ctx)
    if params.get("connect_url"):
        from sqlbridge.endpoint.client import parse_url

        try:
            parse_url(params["connect_url"])
        except ValueError as e:
            raise click.BadParameter(str(e), ctx, param_hint="'--connect' / ASL_URL") from None
        return
    from cli.history import check_history

    check_history(ctx, params["history_file"])


def remote_url(params: dict[str, Any]) -> str | None:
    """The ``--connect`` URL when it is the chosen source (``--demo`` wins), else None."""
    return None if params.get("demo") else params.get("connect_url") or None


@contextlib.contextmanager
def open_source(params: dict[str, Any], *, latest_only: bool = False) -> Iterator[JobSource]:
    """The source chosen by ``params`` (checked by ``check_source``), closed on exit.

    ``latest_only``: of a history, only the most recently started run's jobs (for a graph,
    whose edges are job ids, which restart with each run)."""
    url = remote_url(params)
    if url is not None:
        from cli.remote import NoServer
        from sqlbridge.endpoint.client import Client, Unreachable

        with Client(url, token=params.get("token")) as client:
            try:
                yield client
            except Unreachable as e:  # nothing ran: the command line must change (exit 2)
                raise NoServer(e.advice("--connect / ASL_URL")) from None
        return
    if params.get("history_file") and not params.get("demo"):
        from cli.history import open_history

        with open_history(params["history_file"], latest_only=latest_only) as history:
            yield history
        return
    with frozen_startup(seed=params.get("seed") or 0) as source:
        yield source


def run_statements(source: JobSource, text: str, *, format_name: str, dialect: str = "clickhouse",
                   time_zone: str | None = None, params: Mapping[str, str] | None = None) -> int:
    """Run every statement of ``text`` against ``source``, writing each answer; the exit code."""
    options = {"format_name": format_name, "dialect": dialect, "time_zone": time_zone,
               "params": params}
    from sqlbridge.endpoint.client import Client

    if isinstance(source, Client):  # a --connect source: the server runs and renders the SQL
        from cli.remote import run_script as run_remote

        return run_remote(source, text, **options)
    from cli.run import run_script

    return run_script(source, text, **options)


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
                   timeout: float = 30.0) -> Iterator[JobSource]:
    """A live loader running the demo start-up, held mid-load; see the module docstring."""
    from loader import AsyncLoader
    from loader.demo import Startup, StartupConfig, plan, server_pools

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

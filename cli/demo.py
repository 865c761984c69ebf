"""``asl demo``: a simulated ClickHouse server start-up, run to the end with a progress bar.

The scenario is ``loader.demo`` (pure loader code).  This module runs it the way a server
does (``system`` in the foreground first, then every other database asynchronously), sends a
query for one table part-way through, and then shows what ``system.asynchronous_loader``
says: the documented query, and a summary built from the saved diagnostic queries.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import click

DOCUMENTED_QUERY = "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1"

EPILOG = """\b
Examples:
  asl demo                          # ~640 jobs in a few seconds
  asl demo --seed 7 --tables 2000   # another server, ~4,000 jobs
  asl demo --speed 10 --no-progress # ten times faster, quiet
  asl demo --serve 127.0.0.1:8123   # then keep it queryable over HTTP until Ctrl-C:
  asl sql --connect http://127.0.0.1:8123 "SELECT * FROM system.asynchronous_loader LIMIT 3"
\b
Then look at a start-up caught mid-load (the same seed gives the same server):
  asl query --demo --list
  asl sql --demo "SELECT pool, status, count() FROM system.asynchronous_loader GROUP BY ALL"
  asl graph --demo --collapse -o startup.svg
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the simulated server: databases, tables, costs, failures.")
@click.option("--tables", type=click.IntRange(min=8), default=300, show_default=True,
              help="User tables, spread over the databases.")
@click.option("--databases", type=click.IntRange(1, 8), default=5, show_default=True)
@click.option("--dictionaries", type=click.IntRange(min=0), default=12, show_default=True)
@click.option("--failures", type=click.IntRange(min=0), default=3, show_default=True,
              help="Loads that fail (the first is a dictionary, which cancels its users).")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True,
              help="Threads per pool (tables_loader_*_pool_size).")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Run the simulated work this many times faster.")
@click.option("--query-at", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Send the query when this fraction of jobs has finished.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar on stderr.")
@click.option("--time-zone", metavar="TZ", help="Time zone for times in the output.")
@click.option("--serve", "serve_address", metavar="ADDR",
              help="Afterwards, serve the jobs over HTTP at ADDR (127.0.0.1:8123, :0 for any "
                   "free port, or a Unix socket path) until Ctrl-C; up from the start.")
@click.option("--token", metavar="TOKEN", envvar="ASL_TOKEN",
              help="With --serve: the token clients must send (env ASL_TOKEN); required for "
                   "an address other than loopback.")
@click.option("--history", "history_path", metavar="PATH",
              help="Record the start-up into the history directory PATH "
                   "(sqlbridge.record_history); query it later with asl sql --history PATH.")
@click.pass_context
def demo(ctx: click.Context, seed: int, tables: int, databases: int, dictionaries: int,
         failures: int, threads: int, speed: float, query_at: float, progress: bool,
         time_zone: str | None, serve_address: str | None, token: str | None,
         history_path: str | None) -> None:
    """Run a simulated ClickHouse server start-up, then show system.asynchronous_loader.

    Several databases with hundreds of tables: `load table` jobs in BackgroundLoad (after the
    dictionaries they need), `startup table` jobs in BackgrndStartup, database startup jobs
    that ignore their tables' failures, a few failing loads, and a query that waits for one
    table mid-load with wait_load(..., pool="ForegroundLoad"), boosting it.
    """
    from cli.progress import ProgressBar
    from loader import AsyncLoader
    from loader.demo import Startup, StartupConfig, server_pools

    try:
        config = StartupConfig(seed=seed, tables=tables, databases=databases,
                               dictionaries=dictionaries, failures=failures,
                               time_scale=1.0 / speed)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    loader = AsyncLoader(server_pools(threads), log_failures=False)
    server = recorder = None
    try:
        if history_path is not None:
            recorder = _start_recording(ctx, loader, history_path)
        if serve_address is not None:
            server = _start_server(loader, serve_address, token, time_zone)
        startup = Startup(loader, config)
        bar = ProgressBar(loader, startup.all_jobs, enabled=progress)
        query = _Query(startup, bar, query_at)
        started = time.monotonic()
        bar.draw()
        startup.load_system()
        startup.schedule_async()
        query.start()
        while loader.scheduled_job_count():
            bar.draw(query.note)
            time.sleep(0.1)
        loader.wait_all(timeout=600)
        query.join()
        seconds = time.monotonic() - started
        bar.finish()
        _report(loader, startup, query, seconds, threads, time_zone)
        if recorder is not None:
            recorder.flush()
            click.echo(f"\nRecorded in {history_path}; for example:\n"
                       f"  asl query --history {history_path} recent_failures\n"
                       f"  asl query --history {history_path} slowest_kinds")
        if server is not None:
            _serve_until_interrupted(server, token)
    finally:
        if server is not None:
            server.close()
        loader.shutdown()
        if recorder is not None:
            recorder.close()  # after shutdown: the last finishes are in the final flush


def _start_recording(ctx: click.Context, loader: Any, path: str) -> Any:
    from sqlbridge import record_history
    from sqlbridge.history.schema import HistoryError

    try:
        return record_history(loader, path)
    except HistoryError as e:
        click.echo(f"asl demo: --history: {e}", err=True)
        ctx.exit(2)


def _start_server(loader: Any, address: str, token: str | None, time_zone: str | None) -> Any:
    from sqlbridge.endpoint import UnsafeBindError, serve

    try:
        return serve(loader, address, token=token, time_zone=time_zone)
    except UnsafeBindError as e:
        raise click.BadParameter(f"{e}; with asl demo: --token or ASL_TOKEN",
                                 param_hint="'--serve'") from None
    except ValueError as e:  # an unreadable address or token, an unknown time zone
        raise click.BadParameter(str(e), param_hint="'--serve'") from None
    except OSError as e:  # the port is taken, the socket's folder is missing...
        raise click.BadParameter(f"cannot listen on {address}: {e.strerror or e}",
                                 param_hint="'--serve'") from None


def _serve_until_interrupted(server: Any, token: str | None) -> None:
    echo = click.echo
    url = server.url
    example = "SELECT status, count() FROM system.asynchronous_loader GROUP BY status"
    echo("")
    echo(f"Serving system.asynchronous_loader at {url} (Ctrl-C to stop). Try:")
    echo(f"  asl sql --connect {url} \"{example}\"")
    if token is None and not url.startswith("http+unix"):
        echo(f"  curl '{url}?query=SELECT+job,status+FROM+system.asynchronous_loader+LIMIT+3'")
    elif token is not None:
        echo("  (clients need the token: ASL_TOKEN=... or --token)")
    sys.stdout.flush()
    # SIGTERM (a service manager, `kill`) ends the wait like Ctrl-C, so the socket is released.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("asl demo: stopped serving", err=True)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class _Query:
    """A client query on one table, sent when ``at`` of the jobs have finished.

    It calls ``Startup.query_table`` (``wait_load`` with ``pool="ForegroundLoad"``) on a thread
    of its own, as a server's query thread would, and catches the table mid-boost: the moment
    the wait is registered it takes a snapshot, where pool != execution_pool shows the boost.
    """

    def __init__(self, startup: Any, bar: Any, at: float) -> None:
        self.startup, self.bar, self.at = startup, bar, at
        self.table = startup.plan.query_table
        self.during: Any = None  # the snapshot taken while the query waited
        self.note = ""
        self._thread = threading.Thread(target=self._run, name="asl-demo-query", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        loader = self.startup.loader
        while self.bar.done_jobs() < self.at * self.bar.total and loader.scheduled_job_count():
            time.sleep(0.002)
        self.note = f"query waits for {self.table}"
        waiter = threading.Thread(target=self.startup.query_table, name="asl-demo-select")
        waited = self.startup.startup_table[self.table].jobs[0]
        waiter.start()
        while waited.waiters_count == 0 and waiter.is_alive():
            time.sleep(0.0005)
        if waiter.is_alive():
            self.during = loader.snapshot()
        waiter.join()
        self.note = f"query on {self.table} answered in {self.startup.query_seconds:.3f} s"


def _report(loader: Any, startup: Any, query: _Query, seconds: float, threads: int,
            time_zone: str | None) -> None:
    import queries
    import sqlbridge

    db = sqlbridge.connect(loader, time_zone=time_zone)
    echo = click.echo
    echo(db.run(DOCUMENTED_QUERY), nl=False)
    snap = loader.snapshot()
    rows = snap.select(["job", "status", "finish_time"]).to_pylist()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    p = startup.plan
    echo("")
    echo(f"Summary: {len(rows)} jobs ({len(p.databases)} databases and system, "
         f"{len(p.tables)} tables, {len(p.dictionaries)} dictionaries) in {seconds:.2f} s, "
         f"{threads} threads per pool, seed {startup.config.seed}: "
         + ", ".join(f"{s} {counts[s]}" for s in ("OK", "FAILED", "CANCELED") if s in counts))
    echo(db.run(queries.load("summary").sql, format="PrettyCompact"), nl=False)
    echo("")
    _report_query(startup, query, rows, time_zone)
    impact = db.query(queries.load("failure_impact").sql).to_pylist()
    if impact:
        echo("")
        echo("Failures (root cause, and the jobs it canceled):")
        for r in impact:
            echo(f"  {r['root_job']}: {r['root_cause']}")
            if r["canceled"]:
                shown = ", ".join(r["canceled_jobs"][:4])
                more = f", ... ({r['canceled']} in all)" if r["canceled"] > 4 else ""
                echo(f"    canceled: {shown}{more}")
    db.close()
    echo("")
    seed = startup.config.seed
    echo("Next, look at this seed's server (default sizes) caught mid-load, with --demo:")
    echo("  asl query --list")
    echo(f"  asl query --demo --seed {seed} blocked")
    echo(f"  asl sql --demo --seed {seed} \"SELECT * FROM system.asynchronous_loader "
         "WHERE is_executing\"")
    echo(f"  asl graph --demo --seed {seed} --collapse -o startup.svg")


def _report_query(startup: Any, query: _Query, rows: list[dict], time_zone: str | None) -> None:
    import queries
    import sqlbridge
    from cli.source import Frozen

    echo = click.echo
    table = query.table
    if startup.query_error is not None:
        echo(f"The query on {table} failed: {startup.query_error}")
        return
    echo(f"Mid-load, a query on {table} called wait_load(..., pool=\"ForegroundLoad\") and "
         f"waited {startup.query_seconds:.3f} s.")
    if query.during is not None:
        echo("While it waited, the boosted jobs (pool != execution_pool) were:")
        with sqlbridge.connect(Frozen(query.during), time_zone=time_zone) as db:
            echo(db.run(queries.load("boosts").sql, format="PrettyCompact"), nl=False)
    else:
        echo("(Its table was already started when the query came: nothing to boost.)")
    db_name = table.split(".", 1)[0]
    finish = {r["job"]: r["finish_time"] for r in rows}
    own = finish.get(f"startup table {table}")
    database = [t for n, t in finish.items()
                if n.startswith("startup table ") and n.split(" ")[2].startswith(db_name + ".")
                and t is not None]
    if own is not None and database:
        last = max(database)
        echo(f"Its table was ready {(last - own).total_seconds():.3f} s before the last table "
             f"of database {db_name}.")

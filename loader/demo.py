"""A ClickHouse server start-up as a job graph: what ``asl demo`` and ``asl sql --demo`` run.

It follows ``TablesLoader`` and ``loadMetadata`` (reference §6.4) closely enough that the
diagnostic queries meet the shapes they were written for:

* three pools, as in the server: ``ForegroundLoad`` (0), ``BackgroundLoad`` (1) and
  ``BackgrndStartup`` (2), lower value more urgent;
* the ``system`` database is loaded first and synchronously: ``wait_load`` in the foreground;
* every other database is loaded asynchronously: ``load table db.t`` in BackgroundLoad, after
  the ``load dictionary db.d`` jobs it needs (a dictionary after the table it reads), and
  ``load table db.t_mv`` after its source table; then ``startup table db.t`` in
  BackgrndStartup after the table's load; ``startup Ordinary database db`` after every table
  startup of the database, *ignoring dependency failures*; ``startup Atomic database db`` (and
  ``startup Replicated database db``) after it; ``startup ddl worker`` after every database;
* a few loads fail with the errors real servers log, cancelling what depends on them;
* a "query" can wait for one table mid-load through
  ``wait_load(loader, task, pool=current_pool_or("ForegroundLoad"))``, which boosts the table's
  startup, its load and its dictionaries into the foreground.

Everything random comes from ``random.Random(seed)``, so a seed gives the same databases,
tables, dependencies, costs and failures.  Job functions sleep for their cost (simulated I/O,
which releases the GIL as real I/O would) times ``time_scale``; a ``gate`` can hold chosen jobs
until it is opened, which freezes a start-up mid-way for inspection.

This module is pure loader code (it imports only ``loader``): no click, no SQL, so the CLI,
tests and benchmarks all reuse it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from loader import (
    AsyncLoader,
    LoadJob,
    LoadTask,
    Pool,
    current_pool_or,
    ignore_dependency_failure,
    wait_load,
)

FOREGROUND, BACKGROUND_LOAD, BACKGROUND_STARTUP = "ForegroundLoad", "BackgroundLoad", \
    "BackgrndStartup"

_SYSTEM_TABLES = (
    "query_log", "query_thread_log", "part_log", "trace_log", "text_log", "metric_log",
    "asynchronous_metric_log", "processors_profile_log", "query_views_log", "error_log",
)
_STEMS = (
    "hits", "visits", "events", "sessions", "users", "orders", "payments", "invoices", "clicks",
    "impressions", "pageviews", "errors", "requests", "metrics", "spans", "traces", "logs",
    "audit", "inventory", "products", "carts", "refunds", "shipments", "devices", "campaigns",
    "conversions", "signups", "searches", "alerts", "deployments", "builds", "incidents",
    "tickets", "accounts", "balances", "transfers", "ledger", "quotes", "trades", "positions",
)
_SUFFIXES = ("", "_local", "_daily", "_hourly", "_raw", "_agg", "_2025", "_2026", "_v2", "_tmp")
_DICT_SOURCES = ("users", "products", "accounts", "devices", "campaigns", "currencies", "geo",
                 "countries", "regions", "plans")
#: (name, engine, share of the user tables); the Replicated one gets a third startup job.
_DATABASES = (
    ("default", "Atomic", 3), ("analytics", "Atomic", 5), ("logs", "Atomic", 4),
    ("billing", "Replicated", 2), ("legacy", "Ordinary", 1), ("staging", "Atomic", 1),
    ("metrics", "Atomic", 2), ("archive", "Ordinary", 1),
)
_FAILURES = (
    "Code: 33. DB::Exception: Cannot read all data. Bytes read: 0. Bytes expected: 8.: "
    "(while reading column `event_time`): While loading part all_12_17_2 of table {t}. "
    "(CANNOT_READ_ALL_DATA)",
    "Code: 246. DB::Exception: Bad size of marks file 'store/5f3/5f3c1e2a/all_1_1_0/"
    "value.cmrk3': 96, must be: 48. (CORRUPTED_DATA)",
    "Code: 999. Coordination::Exception: Connection loss, path /clickhouse/tables/{t}/replicas."
    " (KEEPER_EXCEPTION)",
    "Code: 36. DB::Exception: Dictionary source of {t}: connection refused to "
    "postgres://pg.internal:5432. (BAD_ARGUMENTS)",
    "Code: 107. DB::Exception: File /var/lib/clickhouse/metadata/{t}.sql doesn't exist. "
    "(FILE_DOESNT_EXIST)",
)


class TableLoadError(Exception):
    """A simulated storage error: the message is what a real server would log."""


def server_pools(threads: int = 4, foreground_threads: int | None = None) -> list[Pool]:
    """The server's three pools; ``threads`` is ``tables_loader_background_pool_size``."""
    fg = threads if foreground_threads is None else foreground_threads
    return [
        Pool(FOREGROUND, max_threads=fg, priority=0),
        Pool(BACKGROUND_LOAD, max_threads=threads, priority=1),
        Pool(BACKGROUND_STARTUP, max_threads=threads, priority=2),
    ]


@dataclass(frozen=True)
class StartupConfig:
    """What to build.  The defaults make a start-up of about a thousand jobs and ~3 s."""

    seed: int = 0
    databases: int = 5
    tables: int = 300
    dictionaries: int = 12
    failures: int = 3
    #: Seconds of sleep per unit of simulated cost; 0 runs every job at once.
    time_scale: float = 1.0
    #: Names of jobs that block until ``Startup.gate`` is opened.
    hold: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 1 <= self.databases <= len(_DATABASES):
            raise ValueError(f"databases must be in 1..{len(_DATABASES)}, got {self.databases}")
        if self.tables < self.databases:
            raise ValueError(f"need at least one table per database ({self.databases})")
        if self.dictionaries < 0 or self.failures < 0 or self.time_scale < 0:
            raise ValueError("dictionaries, failures and time_scale must not be negative")


@dataclass
class Table:
    database: str
    name: str
    cost: float
    dictionaries: list[str] = field(default_factory=list)
    source: str | None = None  # a materialized view's source table
    failure: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.database}.{self.name}"


@dataclass
class Dictionary:
    database: str
    name: str
    source_table: str  # full name
    cost: float
    failure: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.database}.{self.name}"


@dataclass
class Plan:
    """The server's metadata: databases, tables, dictionaries, who depends on whom."""

    databases: list[tuple[str, str]]  # (name, engine)
    system_tables: list[Table]
    tables: list[Table]
    dictionaries: list[Dictionary]
    #: The table a query waits for mid-load: late in the order and behind a dictionary.
    query_table: str


def plan(config: StartupConfig) -> Plan:
    """Draw the server's metadata from ``config.seed``."""
    rng = random.Random(config.seed)
    dbs = [(name, engine) for name, engine, _ in _DATABASES[: config.databases]]
    weights = [w for _, _, w in _DATABASES[: config.databases]]
    counts = _split(config.tables, weights)
    tables: list[Table] = []
    for (db, _), count in zip(dbs, counts, strict=True):
        names = _table_names(rng, count)
        for name in names:
            big = rng.random() < 0.04
            cost = rng.uniform(0.08, 0.3) if big else rng.lognormvariate(-4.4, 0.6)
            tables.append(Table(db, name, cost))
        by_stem = {}
        for t in tables:
            if t.database == db:
                by_stem.setdefault(t.name.split("_")[0], t)
        for t in tables:
            if t.database == db and t.name.endswith("_agg"):
                src = by_stem.get(t.name.split("_")[0])
                if src is not None and src is not t:
                    t.source = src.full_name
    dictionaries = _dictionaries(rng, config, dbs, tables)
    by_db: dict[str, list[Dictionary]] = {}
    for d in dictionaries:
        by_db.setdefault(d.database, []).append(d)
    sources = {d.source_table for d in dictionaries}
    for t in tables:
        usable = [d for d in by_db.get(t.database, []) + by_db.get("default", [])
                  if d.source_table != t.full_name]
        if usable and t.full_name not in sources and t.source is None and rng.random() < 0.35:
            picked = rng.sample(usable, k=min(len(usable), rng.choice((1, 1, 2))))
            t.dictionaries = sorted({d.full_name for d in picked})
    system = [Table("system", n, rng.lognormvariate(-5.0, 0.4)) for n in _SYSTEM_TABLES]
    _inject_failures(rng, config, tables, dictionaries, sources)
    failed = {d.full_name for d in dictionaries if d.failure}
    behind_dictionary = [t for t in tables if t.dictionaries and t.failure is None
                         and not failed.intersection(t.dictionaries)]
    healthy = behind_dictionary or [t for t in tables if t.failure is None] or tables
    query_table = healthy[len(healthy) * 4 // 5].full_name
    return Plan(dbs, system, tables, dictionaries, query_table)


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` items over databases in proportion to ``weights``, at least one each."""
    counts = [1] * len(weights)
    rest = total - len(weights)
    share = sum(weights)
    raw = [rest * w / share for w in weights]
    for i, r in enumerate(raw):
        counts[i] += int(r)
    leftover = total - sum(counts)
    for i in sorted(range(len(weights)), key=lambda i: raw[i] - int(raw[i]), reverse=True):
        if leftover <= 0:
            break
        counts[i] += 1
        leftover -= 1
    return counts


def _table_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    stems = list(_STEMS)
    rng.shuffle(stems)
    i = 0
    while len(names) < count:
        stem = stems[i % len(stems)]
        round_ = i // len(stems)
        suffix = "" if round_ == 0 else rng.choice(_SUFFIXES[1:])
        name = stem + suffix
        if name in seen:
            name = f"{name}_{round_}"
        if name not in seen:
            seen.add(name)
            names.append(name)
        i += 1
    return names


def _dictionaries(rng: random.Random, config: StartupConfig, dbs, tables) -> list[Dictionary]:
    out: list[Dictionary] = []
    tables_by_db: dict[str, list[Table]] = {}
    for t in tables:
        tables_by_db.setdefault(t.database, []).append(t)
    for i in range(config.dictionaries):
        db = dbs[i % len(dbs)][0]
        pool = [t for t in tables_by_db[db] if t.source is None]
        source = rng.choice(pool or tables_by_db[db])
        name = f"dict_{_DICT_SOURCES[(i // len(dbs)) % len(_DICT_SOURCES)]}"
        if any(d.full_name == f"{db}.{name}" for d in out):
            name = f"{name}_{i}"
        out.append(Dictionary(db, name, source.full_name, rng.lognormvariate(-3.7, 0.4)))
    return out


def _inject_failures(rng, config, tables, dictionaries, sources) -> None:
    if config.failures == 0:
        return
    messages = list(_FAILURES)
    rng.shuffle(messages)
    n = config.failures
    if dictionaries:
        d = rng.choice(dictionaries)
        d.failure = _FAILURES[3].format(t=d.full_name)
        n -= 1
    plain = [t for t in tables if t.full_name not in sources]
    for i, t in enumerate(rng.sample(plain, k=min(n, len(plain)))):
        t.failure = [m for m in messages if "Dictionary" not in m][i % 4].format(t=t.full_name)


class Startup:
    """One server start-up on one loader: its tasks, jobs and the moves the server makes."""

    def __init__(self, loader: AsyncLoader, config: StartupConfig) -> None:
        self.loader = loader
        self.config = config
        self.plan = plan(config)
        self.gate = threading.Event()
        self.jobs: dict[str, LoadJob] = {}
        #: Per database, as the server keeps them: load tasks and startup tasks.
        self.load_tasks: dict[str, LoadTask] = {}
        self.startup_tasks: dict[str, LoadTask] = {}
        #: Per table (``db.t``): the task of its startup job, what a query waits for.
        self.startup_table: dict[str, LoadTask] = {}
        self.query_seconds: float | None = None
        self.query_error: BaseException | None = None
        self._build()

    # -- the graph --------------------------------------------------------------------------
    def _job(self, name: str, cost: float, pool: str, deps: Iterable[LoadJob] = (),
             failure: str | None = None, tags: dict[str, str] | None = None,
             **kw) -> LoadJob:
        job = LoadJob(self._work(name, cost, failure), name=name, dependencies=deps, pool=pool,
                      tags=tags, **kw)
        self.jobs[name] = job
        return job

    def _work(self, name: str, cost: float, failure: str | None):
        seconds = cost * self.config.time_scale
        held = name in self.config.hold
        gate = self.gate

        def run(loader: AsyncLoader, job: LoadJob) -> float:
            if held:
                gate.wait()
            if seconds:
                time.sleep(seconds)
            if failure is not None:
                raise TableLoadError(failure)
            return seconds

        return run

    def _build(self) -> None:
        p = self.plan
        self.system_load = LoadTask(self.loader, [
            self._job(f"load table system.{t.name}", t.cost, BACKGROUND_LOAD,
                      tags={"database": "system", "table": t.name})
            for t in p.system_tables
        ])
        self.system_startup = LoadTask(self.loader, [
            self._job(f"startup table system.{t.name}", t.cost / 4, BACKGROUND_STARTUP,
                      [self.jobs[f"load table system.{t.name}"]],
                      tags={"database": "system", "table": t.name})
            for t in p.system_tables
        ])
        dict_jobs: dict[str, LoadJob] = {}
        table_loads: dict[str, LoadJob] = {}
        # Loads first, in metadata order; a job's dependencies are created before it.
        pending = list(p.tables) + list(p.dictionaries)
        by_name = {x.full_name: x for x in pending}
        loads_of_db: dict[str, list[LoadJob]] = {db: [] for db, _ in p.databases}

        def load(full: str) -> LoadJob:
            if full in table_loads:
                return table_loads[full]
            if full in dict_jobs:
                return dict_jobs[full]
            item = by_name[full]
            db, short = full.split(".", 1)
            tags = {"database": db, "table": short}
            if isinstance(item, Dictionary):
                job = self._job(f"load dictionary {full}", item.cost, BACKGROUND_LOAD,
                                [load(item.source_table)], item.failure, tags)
                dict_jobs[full] = job
            else:
                deps = [load(d) for d in item.dictionaries]
                if item.source:
                    deps.append(load(item.source))
                job = self._job(f"load table {full}", item.cost, BACKGROUND_LOAD, deps,
                                item.failure, tags)
                table_loads[full] = job
            loads_of_db[db].append(job)
            return job

        for item in pending:
            load(item.full_name)
        ddl_deps = []
        for db, engine in p.databases:
            self.load_tasks[db] = LoadTask(self.loader, loads_of_db[db])
            startups = []
            for t in (t for t in p.tables if t.database == db):
                job = self._job(f"startup table {t.full_name}", t.cost / 5, BACKGROUND_STARTUP,
                                [table_loads[t.full_name]],
                                tags={"database": db, "table": t.name})
                startups.append(job)
                self.startup_table[t.full_name] = LoadTask(self.loader, [job])
            ordinary = self._job(f"startup Ordinary database {db}", 0.0, BACKGROUND_STARTUP,
                                 startups, dependency_failure=ignore_dependency_failure,
                                 tags={"database": db})
            chain = [ordinary]
            if engine in ("Atomic", "Replicated"):
                chain.append(self._job(f"startup Atomic database {db}", 0.0,
                                       BACKGROUND_STARTUP, [chain[-1]], tags={"database": db}))
            if engine == "Replicated":
                chain.append(self._job(f"startup Replicated database {db}", 0.004,
                                       BACKGROUND_STARTUP, [chain[-1]], tags={"database": db}))
            ddl_deps.append(chain[-1])
            self.startup_tasks[db] = LoadTask(self.loader, startups + chain, goals=[chain[-1]])
        self.ddl_worker = LoadTask(self.loader, [
            self._job("startup ddl worker", 0.002, BACKGROUND_STARTUP, ddl_deps)
        ])

    # -- what the server does -------------------------------------------------------------
    @property
    def all_jobs(self) -> list[LoadJob]:
        return list(self.jobs.values())

    def load_system(self) -> None:
        """``loadMetadata`` for ``system``: synchronous, in the foreground."""
        wait_load(self.loader, self.system_load, pool=FOREGROUND)

    def schedule_async(self) -> None:
        """``async_load_databases = true``: schedule every load, then every startup."""
        self.loader.schedule([self.load_tasks[db] for db, _ in self.plan.databases])
        self.loader.schedule([self.system_startup]
                             + [self.startup_tasks[db] for db, _ in self.plan.databases]
                             + [self.ddl_worker])

    def start(self) -> None:
        self.load_system()
        self.schedule_async()

    def query_table(self, table: str | None = None, timeout: float | None = None) -> float:
        """A ``SELECT`` on ``table``: ``waitTableStarted``, boosting it to the foreground.

        Returns the seconds waited; the wait's error, if any, is kept in ``query_error``.
        """
        task = self.startup_table[table or self.plan.query_table]
        start = time.monotonic()
        try:
            wait_load(self.loader, task, pool=current_pool_or(FOREGROUND), timeout=timeout)
        except Exception as e:  # noqa: BLE001 - a query reports its error, it does not crash
            self.query_error = e
        self.query_seconds = time.monotonic() - start
        return self.query_seconds

    def release(self) -> None:
        """Let held jobs finish."""
        self.gate.set()

    def blocked_by_hold(self) -> set[str]:
        """Names of the held jobs and of every job that (transitively) depends on one."""
        dependents: dict[int, list[LoadJob]] = {}
        for job in self.jobs.values():
            for dep in job.dependencies:
                dependents.setdefault(id(dep), []).append(job)
        out: set[str] = set()
        stack = [self.jobs[n] for n in self.config.hold if n in self.jobs]
        while stack:
            job = stack.pop()
            if job.name in out:
                continue
            out.add(job.name)
            stack.extend(dependents.get(id(job), ()))
        return out

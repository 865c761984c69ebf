"""The job graph as Graphviz DOT: ClickHouse's ``utils/async_loader_graph``, made to scale.

The original script turns ``system.asynchronous_loader`` into a ``digraph`` with one node per
job (label: its name; shape by pool; fill by status; border by state) and an edge from each job
to each of its dependencies.  We keep its encoding so the pictures read the same, fix its one
quirk (its shape table names the pools ``FgLoad``/``BgLoad``/``BgStartup``, which servers stopped
using, so every node came out an ellipse), and add what a real start-up needs, because a server
with 2,300 tables has ~4,900 jobs and one picture of all of them is a grey smear:

* selections: the closure of one job (``job=``, its dependencies and/or dependents), one
  database (``database=``), some statuses (``status=``);
* dependencies left out of a selection are summarised per node (one dashed ``+ 57 more`` node)
  instead of silently vanishing, so a cut graph never looks complete when it is not;
* a cap (``max_jobs``) that keeps the most interesting jobs (executing, ready, blocked, failed
  before OK) and says in the picture what it left out;
* one cluster per database, so the fan-in of ``startup ... database`` jobs stays in its box;
* a tooltip per node (status, pools, error), which SVG viewers show on hover.

Pure functions over an Arrow table (the ``system.asynchronous_loader`` schema, or any table with
its ``job, job_id, status, is_blocked, is_ready, is_executing, pool, dependencies`` columns),
so the CLI, the HTTP endpoint and notebooks share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

__all__ = ["GraphSelection", "select_jobs", "to_dot", "database_of", "DEFAULT_MAX_JOBS",
           "POOL_SHAPES", "STATUS_COLORS", "STATE_COLORS", "kind_of"]

#: Above this many jobs a picture stops being readable (and ``dot`` gets slow).
DEFAULT_MAX_JOBS = 500

#: Shapes by pool, current names and the old ones the original script used.
POOL_SHAPES = {
    "ForegroundLoad": "box", "BackgroundLoad": "hexagon", "BackgrndStartup": "ellipse",
    "FgLoad": "box", "BgLoad": "hexagon", "BgStartup": "ellipse",
}
#: Shapes for pools of other loaders, in pool order.
_EXTRA_SHAPES = ("octagon", "diamond", "parallelogram", "house", "trapezium", "cylinder")
STATUS_COLORS = {"PENDING": "white", "OK": "lightgreen", "FAILED": "red", "CANCELED": "darkred"}
#: Border colour by ``is_blocked + 2*is_ready + 3*is_executing``.
STATE_COLORS = ("black", "blue", "orange", "yellow")
STATE_NAMES = ("is_assigned", "is_blocked", "is_ready", "is_executing")
#: Which jobs a cap keeps first: the ones someone is looking for.
_INTEREST = {"executing": 0, "ready": 1, "blocked": 2, "FAILED": 3, "CANCELED": 4,
             "PENDING": 5, "OK": 6}

_DATABASE_PATTERNS = (
    re.compile(r"\b(?:table|dictionary|view)\s+(?:`([^`]+)`|([^`.\s]+))\."),
    re.compile(r"\bdatabase\s+(?:`([^`]+)`|([^`\s]+))\s*$"),
)


def database_of(job_name: str) -> str | None:
    """The database a server job belongs to, from its name (``load table db.t`` -> ``db``)."""
    for pattern in _DATABASE_PATTERNS:
        m = pattern.search(job_name)
        if m:
            return m.group(1) or m.group(2)
    return None


@dataclass
class _Job:
    job_id: int
    name: str
    status: str
    state: int  # index into STATE_COLORS
    pool: str
    execution_pool: str
    dependencies: list[int]
    exception: str | None

    @property
    def interest(self) -> int:
        if self.status == "PENDING":
            return _INTEREST[("blocked", "blocked", "ready", "executing")[self.state]] \
                if self.state else _INTEREST["PENDING"]
        return _INTEREST.get(self.status, 9)


@dataclass
class GraphSelection:
    """Which jobs to draw, and what was left out (said in the picture)."""

    jobs: dict[int, _Job]
    kept: list[int]
    total: int
    notes: list[str] = field(default_factory=list)
    #: How many jobs the filters selected before ``max_jobs`` cut them (None: no cut).
    capped_from: int | None = None


def _rows(table: pa.Table) -> dict[int, _Job]:
    names = set(table.column_names)
    need = {"job", "job_id", "status", "is_blocked", "is_ready", "is_executing", "pool",
            "dependencies"}
    missing = need - names
    if missing:
        raise ValueError(f"the job table lacks columns {sorted(missing)}; select them "
                         "from system.asynchronous_loader")

    def col(name: str, default=None) -> list:
        if name in names:
            return table.column(name).to_pylist()
        return [default] * table.num_rows

    jobs: dict[int, _Job] = {}
    for job_id, name, status, blocked, ready, executing, pool, exe_pool, deps, exc in zip(
        col("job_id"), col("job"), col("status"), col("is_blocked"), col("is_ready"),
        col("is_executing"), col("pool"), col("execution_pool"), col("dependencies"),
        col("exception"), strict=True,
    ):
        state = int(blocked or 0) + 2 * int(ready or 0) + 3 * int(executing or 0)
        jobs[int(job_id)] = _Job(int(job_id), name, str(status), min(state, 3), pool,
                                 exe_pool or pool, [int(d) for d in deps or ()], exc)
    return jobs


def _find(jobs: dict[int, _Job], job: str | int) -> list[int]:
    if isinstance(job, int) or (isinstance(job, str) and job.isdigit()):
        if int(job) in jobs:
            return [int(job)]
    found = [i for i, j in jobs.items() if j.name == job]
    if not found:
        close = sorted(j.name for j in jobs.values() if str(job) in j.name)[:5]
        hint = f"; similar: {', '.join(repr(c) for c in close)}" if close else ""
        raise LookupError(f"no job named {job!r} (or with that job_id){hint}")
    return found


def _closure(jobs: dict[int, _Job], start: Iterable[int], direction: str,
             depth: int | None) -> set[int]:
    dependents: dict[int, list[int]] = {}
    if direction in ("dependents", "both"):
        for j in jobs.values():
            for d in j.dependencies:
                dependents.setdefault(d, []).append(j.job_id)
    out = set(start)
    for follow in ("dependencies", "dependents"):
        if direction not in (follow, "both"):
            continue
        frontier, level = list(start), 0
        seen = set(start)
        while frontier and (depth is None or level < depth):
            nxt = []
            for i in frontier:
                step = jobs[i].dependencies if follow == "dependencies" else dependents.get(i, ())
                for k in step:
                    if k in jobs and k not in seen:
                        seen.add(k)
                        nxt.append(k)
            out.update(nxt)
            frontier, level = nxt, level + 1
    return out


def select_jobs(
    table: pa.Table,
    *,
    job: str | int | None = None,
    direction: str = "both",
    depth: int | None = None,
    database: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    max_jobs: int | None = DEFAULT_MAX_JOBS,
) -> GraphSelection:
    """Choose the jobs to draw.  Filters combine (AND); ``max_jobs=None`` draws everything.

    ``job`` is a name (every job of that name) or a ``job_id``; ``direction`` is
    ``dependencies`` (what it waits for), ``dependents`` (what waits for it) or ``both``;
    ``depth`` limits the hops.  Raises ``LookupError`` for an unknown job and ``ValueError``
    for a bad argument.
    """
    if direction not in ("dependencies", "dependents", "both"):
        raise ValueError(f"direction must be dependencies, dependents or both, not {direction!r}")
    jobs = _rows(table)
    ids = set(jobs)
    notes = []
    if job is not None:
        ids &= _closure(jobs, _find(jobs, job), direction, depth)
        relatives = "dependencies and dependents" if direction == "both" else direction
        notes.append(f"job {job!r} and its {relatives}"
                     + (f" to depth {depth}" if depth is not None else ""))
    if database is not None:
        wanted = {database} if isinstance(database, str) else set(database)
        ids = {i for i in ids if database_of(jobs[i].name) in wanted}
        notes.append(f"database {', '.join(sorted(wanted))}")
    if status is not None:
        wanted = {status} if isinstance(status, str) else set(status)
        wanted = {s.upper() for s in wanted}
        unknown = wanted - set(STATUS_COLORS)
        if unknown:
            raise ValueError(f"unknown status {sorted(unknown)}; use {', '.join(STATUS_COLORS)}")
        ids = {i for i in ids if jobs[i].status in wanted}
        notes.append(f"status {', '.join(sorted(wanted))}")
    kept = sorted(ids)
    selected = len(kept)
    capped_from = None
    if max_jobs is not None and selected > max_jobs:
        capped_from = selected
        kept = sorted(sorted(kept, key=lambda i: (jobs[i].interest, i))[:max_jobs])
        notes.append(f"showing {max_jobs} of {selected} jobs (the cap keeps executing, ready, "
                     "blocked and failed jobs first); narrow it with a job, a database or a "
                     "status, or raise the cap")
    return GraphSelection(jobs, kept, len(jobs), notes, capped_from)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(pool: str, pool_order: list[str]) -> str:
    if pool in POOL_SHAPES:
        return POOL_SHAPES[pool]
    extra = [p for p in pool_order if p not in POOL_SHAPES]
    return _EXTRA_SHAPES[extra.index(pool) % len(_EXTRA_SHAPES)] if pool in extra else "ellipse"


def _tooltip(j: _Job) -> str:
    lines = [f"{j.name} (job_id {j.job_id})", f"status {j.status}, "
             f"{STATE_NAMES[j.state] if j.status == 'PENDING' else 'finished'}",
             f"pool {j.pool}" + (f", execution pool {j.execution_pool}"
                                 if j.execution_pool != j.pool else "")]
    if j.exception:
        lines.append(j.exception[:300])
    return "\n".join(lines)


def to_dot(
    table: pa.Table | GraphSelection,
    *,
    cluster: bool | None = None,
    legend: bool = True,
    stagger: bool = True,
    collapse: bool = False,
    title: str | None = None,
    **select: object,
) -> str:
    """DOT text for ``table`` (or an already made selection); ``select`` goes to select_jobs.

    ``cluster`` groups jobs by database (default: when they span several databases).
    ``stagger`` spreads a job's many dependencies over several columns (what Graphviz's
    ``unflatten`` does): a database startup job depends on every table's startup, and without
    it they stack in one column hundreds of nodes tall.
    ``collapse`` draws one node per database and kind of job (``load table``, ``startup
    table``, ...) with its counts by status: the overview of a start-up of any size.
    """
    if collapse:
        select.setdefault("max_jobs", None)
    sel = table if isinstance(table, GraphSelection) else select_jobs(table, **select)
    if collapse:
        return _collapsed_dot(sel, legend=legend, title=title)
    jobs, kept = sel.jobs, sel.kept
    kept_set = set(kept)
    pool_order = list(dict.fromkeys(jobs[i].pool for i in sorted(jobs)))
    lines = ["digraph {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [color="#555555", arrowsize=0.6];']
    caption = [title] if title else []
    caption += [f"{len(kept)} of {sel.total} jobs"] + sel.notes
    lines.append(f"  labelloc=t; fontname=\"Helvetica\"; fontsize=20; "
                 f"label={_quote(' | '.join(caption))};")
    by_db: dict[str | None, list[int]] = {}
    for i in kept:
        by_db.setdefault(database_of(jobs[i].name), []).append(i)
    if cluster is None:
        cluster = len([d for d in by_db if d is not None]) > 1
    for db, members in sorted(by_db.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        indent = "  "
        if cluster and db is not None:
            lines.append(f"  subgraph {_quote('cluster_db_' + db)} {{")
            lines.append(f'    label={_quote("database " + db)}; style="rounded,dashed"; '
                         'color="#888888";')
            indent = "    "
        for i in members:
            j = jobs[i]
            font = ', fontcolor="white"' if j.status in ("FAILED", "CANCELED") else ""
            lines.append(
                f"{indent}{_quote(str(i))} [label={_quote(j.name)}, "
                f"shape={_shape(j.pool, pool_order)}, style=\"filled\", "
                f"fillcolor={STATUS_COLORS.get(j.status, 'grey')}, "
                f"color={STATE_COLORS[j.state]}, penwidth=\"3.0\"{font}, "
                f"tooltip={_quote(_tooltip(j))}];"
            )
            stub = _stub(jobs, j, kept_set)
            if stub:  # in the job's own cluster, so cut edges stay next to their job
                lines.append(f"{indent}{_quote(f'more_{i}')} [label={_quote(stub)}, "
                             'shape=plaintext, fontsize=9, fontcolor="#666666"];')
        if cluster and db is not None:
            lines.append("  }")
    for i in kept:
        j = jobs[i]
        outside = [d for d in j.dependencies if d not in kept_set]
        inside = [d for d in j.dependencies if d in kept_set]
        levels = _stagger_levels(len(inside)) if stagger else 1
        for n, d in enumerate(inside):
            extra = f" [minlen={1 + n % levels}]" if levels > 1 else ""
            lines.append(f"  {_quote(str(i))} -> {_quote(str(d))}{extra};")
        if outside:
            lines.append(f'  {_quote(str(i))} -> {_quote(f"more_{i}")} '
                         '[style=dashed, color="#999999"];')
    if legend:
        lines.extend(_legend(pool_order))
    lines.append("}")
    return "\n".join(lines) + "\n"


_KIND = re.compile(r"^(.*?\b(?:table|dictionary|view|database))\s+\S+$")
_WORST = ("FAILED", "CANCELED", "PENDING", "OK")


def kind_of(job_name: str) -> str:
    """The kind of a server job: its name without the object (``load table``)."""
    m = _KIND.match(job_name)
    return m.group(1) if m else job_name


def _collapsed_dot(sel: GraphSelection, *, legend: bool, title: str | None) -> str:
    jobs = sel.jobs
    kept = set(sel.kept)
    pool_order = list(dict.fromkeys(jobs[i].pool for i in sorted(jobs)))
    groups: dict[tuple[str | None, str], list[int]] = {}
    for i in sel.kept:
        groups.setdefault((database_of(jobs[i].name), kind_of(jobs[i].name)), []).append(i)
    gid = {key: f"g{n}" for n, key in enumerate(sorted(groups, key=lambda k: (k[0] or "", k[1])))}
    group_of = {i: gid[key] for key, members in groups.items() for i in members}
    caption = ([title] if title else []) + [
        f"{len(kept)} of {sel.total} jobs in {len(groups)} groups (database, kind of job)"
    ] + sel.notes
    lines = ["digraph {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
             '  edge [color="#555555", fontname="Helvetica", fontsize=9];',
             f'  labelloc=t; fontname="Helvetica"; fontsize=16; '
             f"label={_quote(' | '.join(caption))};"]
    for key, members in sorted(groups.items(), key=lambda kv: gid[kv[0]]):
        db, kind = key
        counts = {s: 0 for s in _WORST}
        state = 0
        pools: dict[str, int] = {}
        for i in members:
            j = jobs[i]
            counts[j.status] = counts.get(j.status, 0) + 1
            if j.status == "PENDING":
                state = max(state, j.state)
            pools[j.pool] = pools.get(j.pool, 0) + 1
        worst = next(s for s in _WORST if counts.get(s))
        pool = max(pools, key=pools.get)
        head = kind if len(members) == 1 and kind == jobs[members[0]].name else (
            f"{kind} {db}.*" if db and "database" not in kind else f"{kind} {db or ''}".strip())
        tally = ", ".join(f"{s} {n}" for s, n in counts.items() if n)
        font = ', fontcolor="white"' if worst in ("FAILED", "CANCELED") else ""
        noun = "job" if len(members) == 1 else "jobs"
        label = _quote(f"{head}\n{len(members)} {noun}: {tally}")
        lines.append(
            f"  {gid[key]} [label={label}, "
            f"shape={_shape(pool, pool_order)}, style=\"filled\", "
            f"fillcolor={STATUS_COLORS[worst]}, color={STATE_COLORS[state]}, "
            f"penwidth=\"3.0\"{font}];"
        )
    edges: dict[tuple[str, str], int] = {}
    for i in sel.kept:
        for d in jobs[i].dependencies:
            if d in kept and group_of[d] != group_of[i]:
                key = (group_of[i], group_of[d])
                edges[key] = edges.get(key, 0) + 1
    for (a, b), n in sorted(edges.items()):
        label = f" [label={_quote(str(n))}]" if n > 1 else ""
        lines.append(f"  {a} -> {b}{label};")
    if legend:
        lines.extend(_legend(pool_order))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _stub(jobs: dict[int, _Job], j: _Job, kept: set[int]) -> str | None:
    """The label of the node standing for ``j``'s dependencies left out of the picture."""
    outside = [d for d in j.dependencies if d not in kept]
    if not outside:
        return None
    if len(outside) == 1 and outside[0] in jobs:
        return f"{jobs[outside[0]].name} (not shown)"
    return f"+ {len(outside)} more {'dependency' if len(outside) == 1 else 'dependencies'}"


def _stagger_levels(fan_out: int) -> int:
    """Columns to spread ``fan_out`` edges over: 1 below 16, then about sqrt(n), at most 12."""
    if fan_out < 16:
        return 1
    return max(2, min(12, round(fan_out ** 0.5)))


def _legend(pool_order: list[str]) -> list[str]:
    pools = [p for p in ("ForegroundLoad", "BackgroundLoad", "BackgrndStartup")]
    pools += [p for p in pool_order if p not in POOL_SHAPES]
    out = ["  subgraph cluster_legend {", '    label="LEGEND"; fontsize=12; color="#888888";']
    out.append('    subgraph cluster_legend_pool { label="POOL";')
    for p in pools:
        out.append(f"      {_quote('legend_pool_' + p)} [label={_quote(p)}, "
                   f"shape={_shape(p, pool_order)}];")
    out.append("    }")
    out.append('    subgraph cluster_legend_status { label="STATUS";')
    for s, c in STATUS_COLORS.items():
        font = ', fontcolor="white"' if s in ("FAILED", "CANCELED") else ""
        out.append(f"      {_quote('legend_status_' + s)} [label={_quote(s)}, "
                   f'style="filled", fillcolor={c}{font}];')
    out.append("    }")
    out.append('    subgraph cluster_legend_state { label="STATE";')
    for name, c in zip(STATE_NAMES, STATE_COLORS, strict=True):
        out.append(f"      {_quote('legend_state_' + name)} [label={_quote(name)}, "
                   f'color={c}, penwidth="3.0"];')
    out.append("    }")
    out.append(f"    {_quote('legend_pool_' + pools[0])} -> {_quote('legend_status_PENDING')} "
               "-> " + _quote("legend_state_is_assigned") + " [style=invis];")
    out.append("  }")
    return out

"""The job graph: ``async_loader_graph``'s encoding, the selections that keep it readable, and
``asl graph`` with and without Graphviz."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from startup_state import startup_jobs

from sqlbridge.graph import database_of, kind_of, select_jobs, to_dot
from sqlbridge.testing import job_table

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz `dot` is not installed")


def nodes(dot: str) -> dict[str, str]:
    """job_id -> the node's attribute text."""
    return dict(re.findall(r'^\s*"(\d+)" \[(.*)\];$', dot, re.M))


def edges(dot: str) -> set[tuple[str, str]]:
    return set(re.findall(r'^\s*"(\d+)" -> "(\d+)"', dot, re.M))


def test_encoding_follows_async_loader_graph():
    dot = to_dot(startup_jobs())
    assert dot.startswith("digraph {\n  rankdir=LR;")
    n = nodes(dot)
    assert len(n) == 14
    # shape by pool (today's names), fill by status, border by state
    assert "shape=box" in n["3"] and "shape=box" in n["4"]  # boosted to ForegroundLoad
    assert "shape=hexagon" in n["1"] and "shape=ellipse" in n["9"]
    assert "fillcolor=lightgreen" in n["1"] and "fillcolor=red" in n["5"]
    assert "fillcolor=darkred" in n["6"] and "fillcolor=white" in n["12"]
    assert "color=black" in n["1"]  # finished
    assert "color=blue" in n["4"]  # blocked
    assert "color=orange" in n["12"]  # ready
    assert "color=yellow" in n["3"]  # executing
    assert 'label="load table default.hits"' in n["3"]
    assert 'penwidth="3.0"' in n["3"] and 'style="filled"' in n["3"]
    # edges from a job to each dependency
    assert edges(dot) == {("2", "1"), ("3", "2"), ("4", "3"), ("6", "5"), ("8", "7"),
                          ("9", "1"), ("10", "6"), ("10", "8"), ("10", "13"), ("11", "4"),
                          ("11", "9"), ("13", "12"), ("14", "12")}
    # the legend, with the three pools, four statuses and four states
    assert "cluster_legend" in dot
    for word in ("ForegroundLoad", "BackgroundLoad", "BackgrndStartup", "PENDING", "OK",
                 "FAILED", "CANCELED", "is_assigned", "is_blocked", "is_ready", "is_executing"):
        assert f'label="{word}"' in dot
    assert "[style=invis]" in dot


def test_old_pool_names_and_other_pools_get_shapes():
    table = job_table([
        {"job": "a", "job_id": 1, "pool": "FgLoad"},
        {"job": "b", "job_id": 2, "pool": "BgStartup", "pool_id": 1},
        {"job": "c", "job_id": 3, "pool": "custom", "pool_id": 2},
    ])
    n = nodes(to_dot(table))
    assert "shape=box" in n["1"] and "shape=ellipse" in n["2"] and "shape=octagon" in n["3"]


def test_labels_are_escaped():
    table = job_table([{"job": 'load "x"\\y', "job_id": 1}])
    assert 'label="load \\"x\\"\\\\y"' in to_dot(table)


def test_job_selection_follows_dependencies_and_dependents():
    jobs = startup_jobs()
    deps = select_jobs(jobs, job="startup table default.hits", direction="dependencies")
    assert deps.kept == [1, 2, 3, 4]
    up = select_jobs(jobs, job="load table logs.metrics", direction="dependents")
    assert up.kept == [10, 12, 13, 14]
    both = select_jobs(jobs, job=12, direction="both", depth=1)
    assert both.kept == [12, 13, 14]
    with pytest.raises(LookupError, match="similar: 'load table logs.metrics'"):
        select_jobs(jobs, job="metrics")


def test_left_out_dependencies_are_summarised():
    dot = to_dot(startup_jobs(), job="load table logs.metrics", direction="dependents")
    # startup Ordinary database logs depends on two jobs that are not drawn
    assert '"more_10" [label="+ 2 more dependencies"' in dot
    assert '"10" -> "more_10" [style=dashed' in dot


def test_database_and_status_filters():
    jobs = startup_jobs()
    assert select_jobs(jobs, database="default").kept == [1, 2, 3, 4, 9, 11]
    assert select_jobs(jobs, status=["failed", "CANCELED"]).kept == [5, 6]
    assert select_jobs(jobs, database="logs", status="PENDING").kept == [8, 10, 12, 13, 14]
    with pytest.raises(ValueError, match="unknown status"):
        select_jobs(jobs, status="DONE")


def test_the_cap_keeps_the_interesting_jobs_and_says_so():
    sel = select_jobs(startup_jobs(), max_jobs=3)
    assert sel.kept == [3, 8, 9]  # executing first, then ready in job_id order
    dot = to_dot(sel)
    assert "3 of 14 jobs" in dot and "showing 3 of 14 jobs" in dot


def test_big_fan_in_is_staggered_and_databases_are_clustered():
    rows = [{"job": f"startup table db.t{i}", "job_id": i + 2} for i in range(40)]
    rows.append({"job": "startup Ordinary database db", "job_id": 1,
                 "dependencies": [i + 2 for i in range(40)]})
    rows.append({"job": "load table other.x", "job_id": 100})
    dot = to_dot(job_table(rows))
    assert {int(m) for m in re.findall(r"minlen=(\d+)", dot)} == set(range(1, 7))
    assert 'subgraph "cluster_db_db"' in dot and 'subgraph "cluster_db_other"' in dot
    assert "minlen" not in to_dot(job_table(rows), stagger=False)


def test_collapse_draws_one_node_per_database_and_kind():
    dot = to_dot(startup_jobs(), collapse=True)
    assert "14 of 14 jobs in 7 groups" in dot
    assert 'label="load table logs.*\\n4 jobs: FAILED 1, PENDING 2, OK 1"' in dot
    assert 'label="startup Ordinary database logs\\n1 job: PENDING 1"' in dot
    assert re.search(r"g\d+ -> g\d+ \[label=\"2\"\];", dot)  # two edges merged


def test_names():
    assert database_of("load table db.t") == "db"
    assert database_of("startup Atomic database analytics") == "analytics"
    assert database_of("load dictionary `my db`.d") == "my db"
    assert database_of("startup ddl worker") is None
    assert kind_of("startup table db.t") == "startup table"
    assert kind_of("startup Replicated database db") == "startup Replicated database"
    assert kind_of("startup ddl worker") == "startup ddl worker"


@needs_dot
def test_the_dot_renders():
    import subprocess

    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(startup_jobs()).encode(),
                          capture_output=True, timeout=60, check=True)
    assert done.stdout.lstrip().startswith(b"<?xml") and b"<svg" in done.stdout


@needs_dot
def test_asl_graph_writes_svg(asl, tmp_path):
    out = tmp_path / "g.svg"
    done = asl("graph", "--demo", "--database", "billing", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert b"<svg" in out.read_bytes() and "wrote" in done.stderr
    png = asl("graph", "--demo", "--collapse", "-o", str(tmp_path / "g.png"))
    assert png.returncode == 0, png.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_asl_graph_without_dot_says_how_to_get_it(asl, tmp_path):
    env = {"PATH": str(tmp_path)}  # no dot anywhere on it
    done = asl("graph", "--demo", "-o", str(tmp_path / "g.svg"), env=env)
    assert done.returncode == 1
    assert "Graphviz's `dot` program is not on PATH" in done.stderr
    assert "apt-get install graphviz" in done.stderr and "--format dot" in done.stderr
    assert not (tmp_path / "g.svg").exists()
    # DOT itself needs no Graphviz
    dot = asl("graph", "--demo", "--job", "startup ddl worker", "--depth", "1", "-f", "dot",
              env=env)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph {") and "startup ddl worker" in dot.stdout
    assert os.environ.get("PATH")  # the test's own PATH is untouched

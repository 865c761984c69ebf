"""``%asl_timeline`` in a real in-process IPython shell: the chart of a real loader's jobs,
inline as HTML (an iframe), its filters and ``-o FILE``, and one-line errors."""

from __future__ import annotations

import importlib.util
import json
import threading

import pytest

from loader import AsyncLoader, LoadJob, Pool

if importlib.util.find_spec("IPython") is None:
    pytest.skip("the notebook magics need IPython (pip install -e '.[dev]')",
                allow_module_level=True)

import test_notebook  # noqa: E402 - after the skip: it imports IPython's helpers

# The shell fixtures of the notebook tests, shared (one IPython shell per module).
shell, ip = test_notebook.shell, test_notebook.ip
cell, usage_error = test_notebook.cell, test_notebook.usage_error


@pytest.fixture
def startup():
    """A loader that ran two loads and a startup depending on both, on two workers."""
    loader = AsyncLoader([Pool("BackgroundLoad", 2), Pool("BackgrndStartup", 1)])
    both = threading.Barrier(2, timeout=10)
    loads = [LoadJob(lambda loader, job: both.wait(), name=f"load table db.t{i}")
             for i in (1, 2)]
    start = LoadJob(lambda loader, job: None, name="startup database db",
                    dependencies=loads, pool=1)
    loader.schedule([*loads, start])
    loader.wait(start, timeout=10)
    yield loader
    loader.shutdown()


def test_timeline_magic_shows_the_chart_inline(ip, startup, tmp_path):
    ip.user_ns["srv"] = startup
    out = tmp_path / "t.json"
    shown = cell(ip, f"%asl_timeline --loader srv -o {out}")
    assert shown.error is None, shown.stderr
    chart = shown.value
    assert chart._repr_html_().startswith("<iframe srcdoc=")
    tl = chart.timeline
    assert sorted(b.name for b in tl.bars) == ["load table db.t1", "load table db.t2",
                                               "startup database db"]
    # The two loads ran at once (the barrier), so on two lanes of BackgroundLoad.
    loads = [b for b in tl.bars if b.execution_pool == "BackgroundLoad"]
    assert len({b.lane for b in loads}) == 2
    assert {tl.lanes[b.lane].worker for b in loads} == {0, 1}  # the recorded lanes
    assert tl.critical_path[-1] == next(b.job_id for b in tl.bars
                                        if b.name == "startup database db")
    doc = json.loads(out.read_text())
    assert sum(e["ph"] == "X" and e["pid"] != 0 for e in doc["traceEvents"]) == 3


def test_timeline_magic_filters_and_finds_the_only_loader(ip, startup):
    ip.user_ns["srv"] = startup
    shown = cell(ip, "%asl_timeline --job 'startup database db' --direction dependencies "
                     "--depth 1 --status ok")
    assert shown.error is None, shown.stderr
    assert len(shown.value.timeline.bars) == 3


@pytest.mark.parametrize(("line", "message"), [
    ("--job nosuch", "no job named 'nosuch'"),
    ("--since soon", "neither seconds"),
    ("-o chart.png", "use .svg, .html or .json"),
    ("--loader srv --connect http://127.0.0.1:9", "exclude each other"),
])
def test_timeline_magic_errors_are_one_line(ip, startup, line, message, tmp_path,
                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    ip.user_ns["srv"] = startup
    shown = cell(ip, f"%asl_timeline {line}")
    assert usage_error(shown.error)
    assert message in str(shown.error)
    assert not list(tmp_path.iterdir())

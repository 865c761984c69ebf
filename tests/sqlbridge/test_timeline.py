"""sqlbridge.timeline: the model (lanes, waits, boosts, critical path, filters) and its three
renderings (SVG as XML, the HTML page's data, Chrome trace events), over synthetic tables."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

import pyarrow as pa
import pytest
from timeline_data import T0, Spec, at, startup, table

from sqlbridge.timeline import build_timeline, to_svg
from sqlbridge.timeline.html import to_html
from sqlbridge.timeline.model import to_us
from sqlbridge.timeline.trace import to_trace

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def specs() -> list[Spec]:
    return startup(300, seed=1)


@pytest.fixture(scope="module")
def jobs(specs):
    return table(specs)


def started(specs: list[Spec]) -> dict[int, Spec]:
    return {s.job_id: s for s in specs if s.start is not None}


def complete_events(doc: dict) -> list[dict]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and e["pid"] != 0]


def names(doc: dict, kind: str) -> dict:
    return {(e["pid"], e["tid"]) if kind == "thread_name" else e["pid"]: e["args"]["name"]
            for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == kind}


def test_trace_has_every_started_job_once_with_its_duration_and_lane(specs, jobs):
    doc = json.loads(to_trace(build_timeline(jobs)))
    events = complete_events(doc)
    want = started(specs)
    assert sorted(e["args"]["job_id"] for e in events) == sorted(want)
    processes, threads = names(doc, "process_name"), names(doc, "thread_name")
    for e in events:
        s = want[e["args"]["job_id"]]
        end = s.finish if s.finish is not None else s.now
        assert e["dur"] == end - s.start
        assert e["ts"] == s.start  # t0 is the first schedule time, 0 here
        assert processes[e["pid"]].startswith((s.execution_pool or s.pool) + " ")
        assert threads[(e["pid"], e["tid"])] == f"worker {s.worker}"
    assert doc["otherData"]["t0"] == "2026-12-02 14:00:00.000000 UTC"


def test_no_lane_of_the_trace_runs_two_jobs_at_once(jobs):
    events = complete_events(json.loads(to_trace(build_timeline(jobs))))
    lanes: dict[tuple, list] = {}
    for e in events:
        lanes.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in lanes.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:],
                                                                          strict=False))


def test_trace_pools_in_priority_order_with_queue_counters_boosts_and_flows(specs, jobs):
    doc = json.loads(to_trace(build_timeline(jobs)))
    ordered = [doc_name for _, doc_name in sorted(names(doc, "process_name").items())]
    assert ordered == ["critical path", "ForegroundLoad (priority 0)",
                       "BackgroundLoad (priority 1)", "BackgrndStartup (priority 2)"]
    counters = [e for e in doc["traceEvents"] if e["ph"] == "C"]
    assert counters and all(e["args"]["jobs"] >= 0 for e in counters)
    boosts = [e for e in doc["traceEvents"] if e["ph"] == "i"]
    assert [(b["args"]["pool"], b["args"]["execution_pool"]) for b in boosts] == [
        ("ForegroundLoad", "BackgroundLoad")]
    path = doc["otherData"]["critical_path"]
    flows = [e for e in doc["traceEvents"] if e["ph"] in "sf"]
    assert len(flows) == 2 * (len(path) - 1)
    assert {e["id"] for e in flows} == set(range(1, len(path)))


def test_lanes_are_the_recorded_workers(specs, jobs):
    tl = build_timeline(jobs)
    want = started(specs)
    for bar in tl.bars:
        assert tl.lanes[bar.lane].worker == want[bar.job_id].worker
        assert tl.lanes[bar.lane].pool == bar.execution_pool
    assert not any(g.packed for g in tl.pools)
    assert tl.not_started == {"ready": 1, "blocked": 1, "canceled before starting": 1}


def test_without_a_worker_column_lanes_are_packed_and_the_picture_says_so(jobs):
    tl = build_timeline(jobs.drop_columns(["worker"]))
    assert all(g.packed for g in tl.pools if g.lanes)
    assert any("packed by time" in n for n in tl.notes)
    for lane in tl.lanes:
        spans = sorted((tl.bars[i].start, tl.bars[i].end) for i in lane.bars)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert "packed by time" in to_svg(tl)


def test_critical_path_follows_the_dependency_that_finished_last():
    specs = [
        Spec(1, "load table a.x", "BackgroundLoad", enqueue=0, start=0, finish=100, worker=0),
        Spec(2, "load table a.y", "BackgroundLoad", enqueue=0, start=0, finish=300, worker=1),
        Spec(3, "startup table a.x", "BackgrndStartup", dependencies=[1, 2], enqueue=300,
             start=350, finish=400, worker=0),
        Spec(4, "load table a.z", "BackgroundLoad", enqueue=0, start=100, finish=380, worker=0),
    ]
    tl = build_timeline(table(specs))
    assert tl.critical_path == [2, 3]
    assert tl.critical_length == 400
    assert {b.job_id for b in tl.bars if b.critical} == {2, 3}
    assert [b.wait for b in sorted(tl.bars, key=lambda b: b.job_id)] == [0, 0, 50, 100]


def test_queue_depth_counts_jobs_between_enqueue_and_start():
    specs = [Spec(i, f"j{i}", "BackgroundLoad", enqueue=0, start=100 * i, finish=100 * i + 100,
                  worker=0) for i in (1, 2, 3)]
    tl = build_timeline(table(specs))
    (group,) = tl.pools
    assert [(t - tl.t0, depth) for t, depth in group.queue] == [(0, 3), (100, 2), (200, 1),
                                                                (300, 0)]


def test_filters_database_status_job_and_window(specs, jobs):
    by_db = build_timeline(jobs, database="billing")
    assert by_db.bars and all(b.name.split(" ")[-1].startswith("billing.")
                              for b in by_db.bars)
    failed = build_timeline(jobs, status="FAILED")
    assert failed.bars and {b.status for b in failed.bars} == {"FAILED"}
    one = next(s for s in specs if len(s.dependencies) == 2)
    around = build_timeline(jobs, job=one.name, direction="dependencies", depth=1)
    assert {b.job_id for b in around.bars} == {one.job_id, *one.dependencies}
    lo, hi = 20_000, 40_000
    window = build_timeline(jobs, since=at(lo), until=to_us(at(hi)))
    assert window.start == to_us(at(lo)) and window.end == to_us(at(hi))
    for b in window.bars:
        first = b.enqueue if b.enqueue is not None else b.start
        assert first < window.end and b.end > window.start
    assert any("time window" in n for n in window.notes)
    with pytest.raises(LookupError, match="no job named"):
        build_timeline(jobs, job="no such job")
    with pytest.raises(ValueError, match="empty"):
        build_timeline(jobs, since=at(hi), until=at(lo))


def test_a_table_without_the_times_is_refused_with_what_to_select(jobs):
    with pytest.raises(ValueError, match=r"lacks columns \['start_time'\]"):
        build_timeline(jobs.drop_columns(["start_time"]))


def test_svg_parses_and_draws_each_bar_lane_legend_and_tick(jobs):
    tl = build_timeline(jobs)
    root = ET.fromstring(to_svg(tl, title="a <title> & more").split("\n", 1)[1])
    bars = [r for r in root.iter(f"{SVG}rect") if "data-job" in r.attrib
            and "cpbar" not in r.get("class", "")]
    assert len(bars) == len(tl.bars)
    assert all(float(r.get("width")) >= 1 for r in bars)
    lanes = [r for r in root.iter(f"{SVG}rect") if "data-lane" in r.attrib]
    assert len(lanes) == len(tl.lanes)
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "a <title> & more" in texts
    assert {"OK", "FAILED", "CANCELED", "running", "critical path"} <= set(texts)
    assert sum(bool(re.fullmatch(r"\d+(\.\d+)? s", t)) for t in texts) >= 8
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any("disk <&>" in (t or "") for t in titles)
    assert any("pool raised to ForegroundLoad while it ran in BackgroundLoad" in (t or "")
               for t in titles)


def test_an_empty_selection_still_renders(jobs):
    tl = build_timeline(jobs, status="CANCELED")
    assert tl.bars == [] and tl.not_started == {"canceled before starting": 1}
    ET.fromstring(to_svg(tl).split("\n", 1)[1])
    assert json.loads(to_trace(tl))["otherData"]["ran"] == 0


def test_html_is_self_contained_and_carries_each_jobs_row(jobs):
    tl = build_timeline(jobs)
    page = to_html(tl, title="t")
    assert not re.search(r"""(?:src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)""",
                         page)
    data = json.loads(re.search(r'<script type="application/json" id="asl-data">(.*?)</script>',
                                page, re.S).group(1).replace("<\\/", "</"))
    assert data["columns"][:2] == ["job", "job_id"] and "worker" in data["columns"]
    assert set(data["rows"]) == {str(b.job_id) for b in tl.bars}
    failed = next(b for b in tl.bars if b.status == "FAILED")
    row = dict(zip(data["columns"], data["rows"][str(failed.job_id)], strict=True))
    assert row["exception"].endswith("disk <&>")
    assert row["start_time"] == (T0 + dt.timedelta(microseconds=failed.start - tl.t0)
                                 ).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_script_end_tag_in_a_job_name_cannot_break_the_page():
    specs = [Spec(1, "load table x.</script><b>", "BackgroundLoad", enqueue=0, start=0,
                  finish=10, worker=0)]
    page = to_html(build_timeline(table(specs)))
    assert page.count("</script>") == 2


def test_chart_shows_inline_and_saves_by_extension(jobs, tmp_path):
    from sqlbridge.timeline import chart

    c = chart(jobs, title="nb", database="logs")
    frame = c._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;")
    assert ET.fromstring(c._repr_svg_().split("\n", 1)[1]).tag == f"{SVG}svg"
    assert c.save(tmp_path / "t.json") == "json"
    assert json.loads((tmp_path / "t.json").read_text())["otherData"]["title"] == "nb"
    with pytest.raises(ValueError, match="use .svg, .html or .json"):
        c.save(tmp_path / "t.png")
    assert repr(c).startswith("<asl timeline: ")


def test_a_history_row_marked_interrupted_ends_grey_where_the_process_stopped():
    specs = [Spec(1, "load table a.x", "BackgroundLoad", enqueue=0, start=10, status="PENDING",
                  worker=0, now=500),
             Spec(2, "load table a.y", "BackgroundLoad", enqueue=0, start=0, finish=900, worker=1)]
    jobs = table(specs)
    reason = ["process 7 on h stopped" if i == 1 else None
              for i in jobs.column("job_id").to_pylist()]
    tl = build_timeline(jobs.append_column("interrupted", pa.array(reason, pa.string())))
    bar = next(b for b in tl.bars if b.job_id == 1)
    assert (bar.status, bar.running, bar.end - bar.start) == ("INTERRUPTED", False, 490)
    assert 's-INTERRUPTED" data-job="1"' in to_svg(tl)


def test_a_table_of_several_runs_is_refused():
    jobs = table([Spec(1, "a", "BackgroundLoad", enqueue=0, start=0, finish=1, worker=0)])
    with pytest.raises(ValueError, match="job_id twice"):
        build_timeline(pa.concat_tables([jobs, jobs]))


def test_a_window_in_seconds_since_t0_or_as_a_time(jobs):
    from sqlbridge.timeline.model import parse_when

    assert parse_when("0.5", 1_000) == parse_when("+0.5s", 1_000) == 501_000
    assert parse_when("2026-12-02 14:00:01.5", 0) == to_us(at(1_500_000))
    assert parse_when("2026-12-02 15:00:01.5+01:00", 0) == to_us(at(1_500_000))
    with pytest.raises(ValueError, match="neither seconds"):
        parse_when("soon", 0)
    tl = build_timeline(jobs, since="0.02", until="2026-12-02 14:00:00.04")
    assert (tl.start - tl.t0, tl.end - tl.t0) == (20_000, 40_000)


def test_a_real_loaders_lanes_are_its_workers():
    from loader import AsyncLoader, LoadJob, Pool
    from sqlbridge.timeline.sources import timeline_table

    loader = AsyncLoader([Pool("ForegroundLoad", 2), Pool("BackgroundLoad", 3)])
    try:
        loads = [LoadJob(lambda loader, job: None, name=f"load table db.t{i}", pool=1)
                 for i in range(60)]
        startups = [LoadJob(lambda loader, job: None, name=f"startup table db.t{i}",
                            dependencies=[loads[i]]) for i in range(0, 60, 3)]
        loader.schedule([*loads, *startups])
        loader.wait_all(timeout=30)
        tl = build_timeline(timeline_table(loader))
    finally:
        loader.shutdown()
    jobs = {j.job_id: j for j in [*loads, *startups]}
    assert len(tl.bars) == 80 and not any(g.packed for g in tl.pools)
    for bar in tl.bars:
        assert tl.lanes[bar.lane].worker == jobs[bar.job_id].worker
        assert tl.lanes[bar.lane].pool == bar.execution_pool
    for lane in tl.lanes:
        spans = sorted((tl.bars[i].start, tl.bars[i].end) for i in lane.bars)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert {lane.worker for lane in tl.lanes if lane.pool == "BackgroundLoad"} <= {0, 1, 2}


def test_the_workers_table_shows_each_jobs_lane_in_sql():
    import sqlbridge
    from loader import AsyncLoader, LoadJob, Pool

    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    try:
        jobs = [LoadJob(lambda loader, job: None, name=f"load table db.t{i}") for i in range(8)]
        loader.schedule(jobs)
        loader.wait_all(timeout=30)
        with sqlbridge.connect(loader) as db:
            got = db.query("SELECT job_id, worker, thread_id IS NOT NULL AS has_thread "
                           "FROM system.asynchronous_loader_workers ORDER BY job_id")
            types = db.query("DESCRIBE system.asynchronous_loader_workers")
    finally:
        loader.shutdown()
    assert got.column("worker").to_pylist() == [j.worker for j in jobs]
    assert set(got.column("has_thread").to_pylist()) == {1}
    assert dict(zip(types.column("name").to_pylist(), types.column("type").to_pylist(),
                    strict=True))["worker"] == "Nullable(UInt32)"


def test_an_endpoints_timeline_has_the_servers_recorded_lanes():
    import threading

    import sqlbridge
    from loader import AsyncLoader, LoadJob, Pool
    from sqlbridge.endpoint.client import Client
    from sqlbridge.timeline.sources import timeline_table

    loader = AsyncLoader([Pool("BackgroundLoad", 3)])
    together = threading.Barrier(3, timeout=10)  # three at once: three lanes
    try:
        jobs = [LoadJob(lambda loader, job: together.wait(), name=f"load table db.t{i}")
                for i in range(6)]
        loader.schedule(jobs)
        loader.wait_all(timeout=30)
        with sqlbridge.serve(loader, "127.0.0.1:0") as server, Client(server.url) as client:
            tl = build_timeline(timeline_table(client))
    finally:
        loader.shutdown()
    assert not any(g.packed for g in tl.pools)
    assert {b.job_id: tl.lanes[b.lane].worker for b in tl.bars} == {j.job_id: j.worker
                                                                    for j in jobs}
    assert {lane.worker for lane in tl.lanes} == {0, 1, 2}


def test_the_caption_counts_one_job_and_one_lane_in_the_singular():
    from sqlbridge.timeline.svg import caption

    one = build_timeline(table([Spec(1, "load table a.x", "BackgroundLoad", enqueue=0,
                                     start=0, finish=100, worker=0)]))
    assert caption(one).startswith("1 of 1 job ran in 1 lane · window ")
    assert "critical path 100 µs (1 job)" in caption(one)
    two = build_timeline(table([
        Spec(1, "load table a.x", "BackgroundLoad", enqueue=0, start=0, finish=100, worker=0),
        Spec(2, "startup table a.x", "BackgrndStartup", dependencies=[1], enqueue=100,
             start=100, finish=200, worker=0)]))
    assert caption(two).startswith("2 of 2 jobs ran in 2 lanes · ")
    assert "(2 jobs)" in caption(two)

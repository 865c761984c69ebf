"""``asl timeline``: the command over --demo, its errors, and the HTML page in a real browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sqlbridge"))
from timeline_data import startup, table  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def test_demo_trace_has_a_lane_per_worker_and_every_started_job(asl, tmp_path):
    out = tmp_path / "startup.json"
    done = asl("timeline", "--demo", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"asl timeline: wrote \S+ \([\d,]+ bytes, json\): \d+ jobs in \d+ lanes\n",
                        done.stderr)
    doc = json.loads(out.read_text())
    events = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["pid"] != 0]
    ids = [e["args"]["job_id"] for e in events]
    assert len(ids) == len(set(ids)) == doc["otherData"]["ran"] > 100
    assert all(e["args"]["start_time"] is not None and e["dur"] >= 0 for e in events)
    lanes: dict[tuple, list] = {}
    for e in events:
        lanes.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in lanes.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # The lanes are the loader's recorded workers, not packed by time.
    assert not any("packed" in note for note in doc["otherData"]["notes"])
    processes = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
    assert {"ForegroundLoad (priority 0)", "BackgroundLoad (priority 1)"} <= processes
    # The demo holds one load mid-run after a query raised its pool: a boost, still running.
    assert any(e["ph"] == "i" and e["cat"] == "boost" for e in doc["traceEvents"])


def test_demo_svg_filtered_to_one_database(asl, tmp_path):
    out = tmp_path / "logs.svg"
    done = asl("timeline", "--demo", "--database", "logs", "--status", "OK", "-o", str(out))
    assert done.returncode == 0, done.stderr
    import xml.etree.ElementTree as ET

    root = ET.parse(out).getroot()
    jobs = [t.text for r in root.iter("{http://www.w3.org/2000/svg}rect") if "data-job" in r.attrib
            for t in r.iter("{http://www.w3.org/2000/svg}title")]
    assert jobs and all(" logs." in j.split("\n")[0] for j in jobs)
    assert all("\nOK, ran " in j for j in jobs)


def test_history_timeline_draws_the_recorded_lanes(asl, tmp_path):
    import sqlbridge
    from loader import AsyncLoader, LoadJob, Pool

    loader = AsyncLoader([Pool("BackgroundLoad", 2)])
    recorder = sqlbridge.record_history(loader, tmp_path / "h", flush_interval=0.05)
    try:
        jobs = [LoadJob(lambda loader, job: None, name=f"load table db.t{i}") for i in range(6)]
        loader.schedule(jobs)
        loader.wait_all(timeout=30)
    finally:
        recorder.close()
        loader.shutdown()
    done = asl("timeline", "--history", str(tmp_path / "h"), "-o", str(tmp_path / "h.json"))
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "h.json").read_text())
    lanes = {e["args"]["job_id"]: e["tid"] - 1 for e in doc["traceEvents"]
             if e["ph"] == "X" and e["pid"] != 0}
    assert lanes == {j.job_id: j.worker for j in jobs}
    assert doc["otherData"]["title"] == f"asl history {tmp_path / 'h'}"


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "x.svg"], "needs a source of jobs"),
    (["--connect", "http://127.0.0.1:9", "-o", "x.svg"], "No asl HTTP endpoint answers"),
    (["--connect", "ftp://x", "-o", "x.svg"], "--connect"),
    (["--history", "no-such-dir", "-o", "x.svg"], "no-such-dir does not exist"),
    (["--demo", "-o", "x.png"], "cannot write '.png' files"),
    (["--demo", "--since", "soon"], "neither seconds"),
    (["--demo", "--depth", "2"], "--depth needs --job"),
])
def test_bad_sources_and_arguments_are_one_clear_error_and_exit_2(asl, tmp_path, args, message):
    done = asl("timeline", *args, cwd=str(tmp_path))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len([ln for ln in done.stderr.splitlines() if message in ln]) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")
def test_the_html_page_renders_in_headless_chromium(tmp_path):
    from sqlbridge.timeline import build_timeline
    from sqlbridge.timeline.html import to_html

    tl = build_timeline(table(startup(120, seed=2)))
    failed = next(b for b in tl.bars if b.status == "FAILED")
    page = tmp_path / "t.html"
    page.write_text(to_html(tl, title="headless"))
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--window-size=1600,1000",
             "--dump-dom", f"file://{page}#job={failed.job_id}"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    dom = done.stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, done.stderr[-2000:]
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-ready") == "1", "the page's script did not run"
    # Every bar was laid out with a width, in every lane.
    assert int(attrs["data-bars"]) == int(attrs["data-bar-elements"]) == len(tl.bars)
    assert int(attrs["data-lanes"]) == len(tl.lanes)
    # #job=ID pinned that job: its row is in the panel, and its bar is outlined.
    panel = re.search(r'<div id="asl-row">(.*?)</div>', dom, re.S).group(1)
    assert f"{failed.name} (job_id {failed.job_id})" in panel
    assert "<td>exception</td>" in panel and "disk &lt;&amp;&gt;" in panel
    assert re.search(rf'class="bar s-FAILED[^"]*pinned"[^>]*data-job="{failed.job_id}"', dom)
    # The native tooltips moved into the script's hover box (one tooltip, not two).
    assert not re.search(r'data-job="\d+"[^>]*><title>', dom)

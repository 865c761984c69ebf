"""A timeline over a recorded history (``sqlbridge.record_history`` -> ``HistorySource``) is the
timeline of the live loader it recorded: the same jobs, times and worker lanes."""

from __future__ import annotations

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.history import HistorySource
from sqlbridge.timeline import build_timeline
from sqlbridge.timeline.sources import timeline_table


def test_a_recorded_history_draws_as_the_live_loader(tmp_path):
    loader = AsyncLoader([Pool("ForegroundLoad", 2), Pool("BackgroundLoad", 3)],
                         log_failures=False)
    recorder = sqlbridge.record_history(loader, tmp_path / "h", flush_interval=0.05)
    try:
        loads = [LoadJob(lambda loader, job: None, name=f"load table db.t{i}", pool=1)
                 for i in range(30)]
        failing = LoadJob(lambda loader, job: 1 / 0, name="load table db.bad", pool=1)
        after = [LoadJob(lambda loader, job: None, name=f"startup table db.t{i}",
                         dependencies=[loads[i]]) for i in range(0, 30, 5)]
        loader.schedule([*loads, failing, *after])
        loader.wait_all(timeout=30)
        live = build_timeline(timeline_table(loader))
    finally:
        recorder.close()
        loader.shutdown()
    recorded = build_timeline(timeline_table(HistorySource(tmp_path / "h")))
    assert not any(g.packed for g in recorded.pools)

    def bars(tl):
        return sorted((b.job_id, b.name, b.status, b.execution_pool, tl.lanes[b.lane].worker,
                       b.start, b.end, b.enqueue) for b in tl.bars)

    assert bars(recorded) == bars(live)
    assert len(live.bars) == 37
    assert recorded.critical_path == live.critical_path

"""The ready queue of a pool: FIFO by seqno, moved-in jobs keep their place, stale entries
are skipped and compacted away."""

from __future__ import annotations

import random

from loader import Pool
from loader.columns import Columns
from loader.pool import PoolState


def make_queue(jobs: int, pools: int = 2) -> tuple[Columns, list[PoolState]]:
    cols = Columns()
    cols.extend([f"j{i}" for i in range(jobs)], [0] * jobs, [0] * jobs, now=1)
    return cols, [PoolState(i, Pool(f"p{i}", 1, -i), cols) for i in range(pools)]


def enqueue(cols: Columns, queue: PoolState, seqno: int, slot: int) -> None:
    cols.ready_seqno[slot] = seqno
    cols.pool_id[slot] = queue.id
    queue.push(seqno, slot)


def test_stale_entries_are_compacted_and_live_ones_keep_their_order():
    cols, (queue, _) = make_queue(20_000)
    for slot in range(20_000):
        enqueue(cols, queue, slot + 1, slot)
    # Cancel all but every tenth job, the way the loader does: stale first, then discard.
    for slot in range(20_000):
        if slot % 10:
            cols.ready_seqno[slot] = 0
            queue.discard()
    assert queue.ready_count == 2_000
    entries = len(queue._fifo) + len(queue._moved)
    assert entries <= 2 * queue.ready_count + 1024, "stale entries were never compacted"
    assert [queue.pop() for _ in range(2_000)] == list(range(0, 20_000, 10))
    assert queue.ready_count == 0


def test_moved_in_jobs_keep_their_seqno_among_newer_ones():
    cols, (low, high) = make_queue(10)
    for slot in range(6):
        enqueue(cols, low, slot + 1, slot)
    enqueue(cols, high, 7, 6)
    for slot in (4, 1):  # raise two ready jobs from low to high: they keep seqnos 5 and 2
        cols.pool_id[slot] = high.id
        low.discard()
        high.move_in(slot + 1, slot)
    assert (low.ready_count, high.ready_count) == (4, 3)
    assert [high.pop() for _ in range(3)] == [1, 4, 6]
    assert [low.pop() for _ in range(4)] == [0, 2, 3, 5]


def test_random_operations_match_a_sorted_model():
    rng = random.Random(5)
    cols, queues = make_queue(5_000, pools=3)
    model: dict[int, dict[int, int]] = {q.id: {} for q in queues}  # pool -> slot -> seqno
    seqno = 0
    fresh = list(range(5_000))
    for _ in range(20_000):
        op = rng.random()
        live = [(p, s) for p, slots in model.items() for s in slots]
        if fresh and (op < 0.45 or not live):
            slot = fresh.pop()
            seqno += 1
            pool = rng.randrange(3)
            enqueue(cols, queues[pool], seqno, slot)
            model[pool][slot] = seqno
        elif op < 0.65 and live:  # cancel
            pool, slot = rng.choice(live)
            del model[pool][slot]
            cols.ready_seqno[slot] = 0
            queues[pool].discard()
        elif op < 0.8 and live:  # move to another pool, keeping the seqno
            pool, slot = rng.choice(live)
            target = (pool + rng.randrange(1, 3)) % 3
            kept = model[pool].pop(slot)
            cols.pool_id[slot] = target
            queues[pool].discard()
            queues[target].move_in(kept, slot)
            model[target][slot] = kept
        else:  # pop from a non-empty pool
            nonempty = [p for p in model if model[p]]
            if not nonempty:
                continue
            pool = rng.choice(nonempty)
            expected = min(model[pool], key=model[pool].get)
            assert queues[pool].pop() == expected
            del model[pool][expected]
            cols.ready_seqno[expected] = 0
        for q in queues:
            assert q.ready_count == len(model[q.id])

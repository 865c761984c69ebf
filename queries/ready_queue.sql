-- The ready queue of each pool, most urgent pool first: what each pool runs next, in order.
-- A pool's jobs wait here while a more urgent pool has ready or executing jobs.
SELECT
    pool,
    priority,
    row_number() OVER (PARTITION BY pool ORDER BY ready_seqno) AS position,
    ready_seqno,
    job,
    job_id,
    enqueue_time
FROM system.asynchronous_loader
WHERE is_ready = 1
ORDER BY priority, pool, ready_seqno
LIMIT 20 BY pool

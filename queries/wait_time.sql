-- Wait time per execution pool: how long ready jobs queued (start_time - enqueue_time).
-- Long waits in a background pool during start-up are normal: a more urgent pool runs first.
SELECT
    execution_pool,
    count() AS started,
    round(avg(wait_s), 3) AS avg_wait_s,
    round(median(wait_s), 3) AS median_wait_s,
    round(max(wait_s), 3) AS max_wait_s,
    argMax(job, wait_s) AS longest_wait
FROM
(
    SELECT
        execution_pool,
        execution_priority,
        job,
        dateDiff('microsecond', enqueue_time, start_time) / 1e6 AS wait_s
    FROM system.asynchronous_loader
    WHERE start_time IS NOT NULL AND enqueue_time IS NOT NULL
)
GROUP BY execution_pool
ORDER BY min(execution_priority), execution_pool

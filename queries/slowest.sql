-- The ten slowest finished jobs by execution time, with how long each queued before it ran.
SELECT
    job,
    job_id,
    status,
    execution_pool,
    round(elapsed, 3) AS elapsed_s,
    round(dateDiff('microsecond', enqueue_time, start_time) / 1e6, 3) AS queued_s
FROM system.asynchronous_loader
WHERE status != 'PENDING' AND start_time IS NOT NULL
ORDER BY elapsed DESC, job_id
LIMIT 10

-- Jobs executing right now, longest-running first, and who waits for them.
-- pool differs from execution_pool when a query boosted the job while it ran.
SELECT
    job,
    job_id,
    execution_pool,
    pool,
    round(elapsed, 3) AS elapsed_s,
    waiters,
    start_time
FROM system.asynchronous_loader
WHERE is_executing = 1
ORDER BY elapsed DESC, job_id

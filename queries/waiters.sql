-- Jobs someone is waiting for (a query, or another job), and where each one stands.
SELECT
    job,
    job_id,
    waiters,
    multiIf(is_executing = 1, 'executing', is_ready = 1, 'ready', is_blocked = 1, 'blocked',
            'finished') AS state,
    dependencies_left,
    pool,
    execution_pool
FROM system.asynchronous_loader
WHERE waiters > 0
ORDER BY waiters DESC, job_id

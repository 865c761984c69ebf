-- Priority boosts: jobs raised to a more urgent pool than the one they run or ran in.
-- A query waiting on a table raises its startup job and everything under it to
-- ForegroundLoad; a job boosted while executing keeps running in its old pool.
SELECT
    job,
    job_id,
    status,
    execution_pool AS boosted_from,
    pool AS boosted_to,
    execution_priority - priority AS levels,
    multiIf(is_executing = 1, 'executing', is_ready = 1, 'ready', is_blocked = 1, 'blocked',
            'finished') AS state,
    waiters
FROM system.asynchronous_loader
WHERE pool != execution_pool
ORDER BY priority, job_id

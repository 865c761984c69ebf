-- The direct dependencies of one job and where each stands.
SELECT
    d.job AS dependency,
    d.job_id AS job_id,
    d.status AS status,
    multiIf(d.is_executing = 1, 'executing', d.is_ready = 1, 'ready', d.is_blocked = 1,
            'blocked', 'finished') AS state,
    d.pool AS pool,
    round(d.elapsed, 3) AS elapsed_s
FROM system.asynchronous_loader AS j
ARRAY JOIN j.dependencies AS dependency_id
INNER JOIN system.asynchronous_loader AS d ON d.job_id = dependency_id
WHERE j.job = {job:String}
ORDER BY d.job_id

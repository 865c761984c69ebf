-- Blocked jobs and the pending dependencies that block them, with each blocker's state.
-- A blocker that is itself blocked is listed here too: follow it down to an executing or
-- ready job (or run `asl graph --job NAME --direction dependencies`).
SELECT
    b.job AS job,
    b.job_id AS job_id,
    b.pool AS pool,
    b.dependencies_left AS dependencies_left,
    arraySort(groupArray(concat(d.job, ' (',
        multiIf(d.is_executing = 1, 'executing', d.is_ready = 1, 'ready', 'blocked'), ')')))
        AS blocked_by
FROM system.asynchronous_loader AS b
ARRAY JOIN b.dependencies AS dependency_id
INNER JOIN system.asynchronous_loader AS d ON d.job_id = dependency_id
WHERE b.is_blocked = 1 AND d.status = 'PENDING'
GROUP BY b.job, b.job_id, b.pool, b.dependencies_left
ORDER BY b.dependencies_left DESC, b.job_id

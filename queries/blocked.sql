-- Blocked jobs and the pending dependencies that block them, with each blocker's state.
-- Jobs a query waits for (boosted to ForegroundLoad) come first.  A blocker that is itself
-- blocked has a row of its own: follow it down to an executing or ready job (or draw it:
-- asl graph --job NAME --direction dependencies).
SELECT
    b.job AS job,
    b.job_id AS job_id,
    b.pool AS pool,
    b.dependencies_left AS dependencies_left,
    countIf(d.is_executing = 1) AS executing,
    countIf(d.is_ready = 1) AS ready,
    countIf(d.is_blocked = 1) AS blocked,
    arraySlice(arraySort(groupArray(concat(d.job, ' (',
        multiIf(d.is_executing = 1, 'executing', d.is_ready = 1, 'ready', 'blocked'), ')'))),
        1, 3) AS first_blockers
FROM system.asynchronous_loader AS b
ARRAY JOIN b.dependencies AS dependency_id
INNER JOIN system.asynchronous_loader AS d ON d.job_id = dependency_id
WHERE b.is_blocked = 1 AND d.status = 'PENDING'
GROUP BY b.job, b.job_id, b.pool, b.priority, b.dependencies_left
ORDER BY b.priority, b.dependencies_left DESC, b.job_id

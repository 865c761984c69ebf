-- Jobs by pool and status: how many, in which state, and their execution time.
SELECT
    pool,
    status,
    count() AS jobs,
    countIf(is_executing = 1) AS executing,
    countIf(is_ready = 1) AS ready,
    countIf(is_blocked = 1) AS blocked,
    round(sum(elapsed), 3) AS total_s,
    round(max(elapsed), 3) AS max_s
FROM system.asynchronous_loader
GROUP BY pool, status
ORDER BY min(priority), pool, status

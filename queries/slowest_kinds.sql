-- History: the slowest kinds of job (the name without its object: 'load table'), p50/p95/max.
-- Over every finished job in system.asynchronous_loader_log; seconds of execution (elapsed).
SELECT
    if(position(job, ' ') > 0, replaceRegexpOne(job, '\\s+\\S+$', ''), job) AS kind,
    count() AS jobs,
    countIf(status = 'FAILED') AS failed,
    round(quantile(0.5)(elapsed), 3) AS p50_s,
    round(quantile(0.95)(elapsed), 3) AS p95_s,
    round(max(elapsed), 3) AS max_s
FROM system.asynchronous_loader_log
WHERE type = 'JobFinish' AND status != 'CANCELED'
GROUP BY kind
ORDER BY p95_s DESC, kind
LIMIT 20

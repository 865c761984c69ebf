-- Each root failure and what it took down: how many jobs it canceled, and which.
SELECT
    if(root = '', '(no failure: removed or shut down)', root) AS root_job,
    any(cause) AS root_cause,
    countIf(status = 'CANCELED') AS canceled,
    arraySort(groupArrayIf(job, status = 'CANCELED')) AS canceled_jobs
FROM
(
    SELECT
        job,
        status,
        regexpExtract(exception, 'Load job \'([^\']*)\' failed: ', 1) AS root,
        regexpExtract(exception, 'failed: (.*)\\. \\(ASYNC_LOAD_FAILED\\)', 1) AS cause
    FROM system.asynchronous_loader
    WHERE status IN ('FAILED', 'CANCELED')
)
GROUP BY root
ORDER BY canceled DESC, root_job

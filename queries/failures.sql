-- Failed and canceled jobs with their root cause: the job that failed first, and its error.
SELECT
    job,
    job_id,
    status,
    if(root = '', job, root) AS root_job,
    if(cause = '', 'canceled (removed or shut down)', cause) AS root_cause
FROM
(
    SELECT
        job,
        job_id,
        status,
        regexpExtract(exception, 'Load job \'([^\']*)\' failed: ', 1) AS root,
        regexpExtract(exception, 'failed: (.*)\\. \\(ASYNC_LOAD_FAILED\\)', 1) AS cause
    FROM system.asynchronous_loader
    WHERE status IN ('FAILED', 'CANCELED')
)
ORDER BY root_job, status, job_id

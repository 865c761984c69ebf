-- History: jobs that failed or were canceled in the last 24 hours, with their root cause.
-- Reads system.asynchronous_loader_log (a recorded history: --history PATH, or a live session
-- of a loader that records). root_job is the job that failed first; error_type and the first
-- line of the traceback say what it raised (SELECT traceback ... for the whole of it).
SELECT
    event_time,
    job,
    job_id,
    status,
    if(root = '', job, root) AS root_job,
    if(cause = '', ifNull(exception, 'canceled (removed or shut down)'), cause) AS root_cause,
    error_type,
    loader_instance
FROM
(
    SELECT
        event_time,
        job,
        job_id,
        status,
        exception,
        error_type,
        loader_instance,
        regexpExtract(ifNull(exception, ''), 'Load job \'([^\']*)\' failed: ', 1) AS root,
        regexpExtract(ifNull(exception, ''), 'failed: (.*)\\. \\(ASYNC_LOAD_FAILED\\)', 1) AS cause
    FROM system.asynchronous_loader_log
    WHERE type = 'JobFinish' AND status IN ('FAILED', 'CANCELED')
      AND event_time >= now() - INTERVAL 1 DAY
)
ORDER BY event_time DESC, job_id

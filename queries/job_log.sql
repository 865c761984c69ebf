-- History: the log lines one job emitted (any logger), in order; a grep of job-ID leads here.
-- Reads system.asynchronous_loader_text_log. Job ids restart with each loader: add
-- AND loader_instance = '...' to pick one run of a history holding several.
SELECT
    event_time_microseconds,
    level,
    logger_name,
    thread_name,
    message,
    loader_instance
FROM system.asynchronous_loader_text_log
WHERE job_id = {job_id:UInt64}
ORDER BY event_time_microseconds

-- History: jobs that were executing when their process stopped (killed, crashed, or recording closed).
-- A JobInterrupted row is derived when the history is read: a JobStart with no JobFinish in a
-- process that is no longer alive (system.asynchronous_loader_processes.is_alive = 0).
SELECT
    start_time,
    job,
    job_id,
    execution_pool,
    round(elapsed, 3) AS ran_at_least_s,
    hostname,
    pid,
    reason,
    loader_instance
FROM system.asynchronous_loader_log
WHERE type = 'JobInterrupted'
ORDER BY start_time, job_id

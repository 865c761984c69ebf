-- History: a job and every job created inside it (its sub-jobs, recursively), as an indented tree.
-- Follows parent_job_id down from JOB_ID (in every run that has that id: ids restart with
-- each loader instance); each job's status is its last known one.
-- For example: asl query --history PATH job_tree --param job_id=17
WITH RECURSIVE
jobs AS
(
    SELECT
        loader_instance,
        job_id,
        any(parent_job_id) AS parent_job_id,
        any(job) AS job,
        argMax(toString(status), event_time_microseconds) AS status,
        max(elapsed) AS elapsed,
        min(start_time) AS start_time
    FROM system.asynchronous_loader_log
    GROUP BY loader_instance, job_id
),
tree AS
(
    SELECT 0 AS depth, [job_id] AS path, loader_instance, job_id, job, status, elapsed,
           start_time
    FROM jobs
    WHERE job_id = {job_id:UInt64}
    UNION ALL
    SELECT tree.depth + 1, arrayConcat(tree.path, [jobs.job_id]), jobs.loader_instance,
           jobs.job_id, jobs.job, jobs.status, jobs.elapsed, jobs.start_time
    FROM jobs
    INNER JOIN tree
        ON jobs.parent_job_id = tree.job_id AND jobs.loader_instance = tree.loader_instance
)
SELECT
    concat(repeat('    ', depth), job) AS job,
    job_id,
    status,
    round(elapsed, 3) AS elapsed_s,
    start_time,
    loader_instance
FROM tree
ORDER BY loader_instance, path

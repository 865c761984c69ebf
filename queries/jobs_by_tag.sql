-- History: the jobs that touched one resource (tag TAG = VALUE), latest first, with how each ended.
-- Tags are what record_history stored from job.tags (who triggered it, resource type and id).
-- For example: asl query --history PATH jobs_by_tag --param tag=table --param value=db.hits
SELECT
    event_time,
    job,
    job_id,
    type,
    status,
    round(elapsed, 3) AS elapsed_s,
    tags,
    loader_instance
FROM system.asynchronous_loader_log
WHERE type != 'JobStart' AND tags[{tag:String}] = {value:String}
ORDER BY event_time DESC, job_id

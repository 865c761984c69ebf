-- Everything about one job, one column per line.
-- default format: Vertical
SELECT *
FROM system.asynchronous_loader
WHERE job = {job:String}
ORDER BY job_id

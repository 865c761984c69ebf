-- Everything about one job: asl query job --param job='load table db.t'
-- default format: Vertical
SELECT *
FROM system.asynchronous_loader
WHERE job = {job:String}
ORDER BY job_id

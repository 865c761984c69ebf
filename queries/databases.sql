-- Per database (from job names): tables loaded and started, failures, jobs still pending.
SELECT
    database,
    countIf(job LIKE 'load table %') AS tables,
    countIf(job LIKE 'load table %' AND status = 'OK') AS loaded,
    countIf(job LIKE 'startup table %' AND status = 'OK') AS started,
    countIf(job LIKE 'load dictionary %') AS dictionaries,
    countIf(status = 'FAILED') AS failed,
    countIf(status = 'CANCELED') AS canceled,
    countIf(status = 'PENDING') AS pending,
    countIf(job LIKE 'startup % database %' AND status = 'PENDING') = 0
        AND countIf(job LIKE 'startup % database %') > 0 AS database_started
FROM
(
    SELECT
        job,
        status,
        if(regexpExtract(job, '(?:table|dictionary) ([^. ]+)\\.', 1) != '',
           regexpExtract(job, '(?:table|dictionary) ([^. ]+)\\.', 1),
           regexpExtract(job, 'database (\\S+)$', 1)) AS database
    FROM system.asynchronous_loader
)
WHERE database != ''
GROUP BY database
ORDER BY database

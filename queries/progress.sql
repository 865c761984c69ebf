-- Overall progress: jobs finished, failed, and still executing, ready or blocked.
SELECT
    count() AS jobs,
    countIf(status != 'PENDING') AS finished,
    round(100 * countIf(status != 'PENDING') / count(), 1) AS percent,
    countIf(status = 'OK') AS ok,
    countIf(status = 'FAILED') AS failed,
    countIf(status = 'CANCELED') AS canceled,
    countIf(is_executing = 1) AS executing,
    countIf(is_ready = 1) AS ready,
    countIf(is_blocked = 1) AS blocked
FROM system.asynchronous_loader

-- The pools: priority, thread limit, live workers and the length of each queue.
SELECT
    pool_id,
    pool,
    priority,
    max_threads,
    workers,
    suspended_workers,
    ready_jobs,
    executing_jobs
FROM system.asynchronous_loader_pools
ORDER BY pool_id

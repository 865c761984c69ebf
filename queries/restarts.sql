-- History: every recording process (each start-up or restart), how it ended, what it lost.
-- ended is set when the recorder closed; a process with no end that is no longer alive died
-- (killed or crashed), and its executing jobs read as JobInterrupted (asl query interrupted).
SELECT
    p.started AS started,
    p.hostname AS hostname,
    p.pid AS pid,
    multiIf(p.is_alive = 1, 'running',
            p.ended IS NOT NULL, concat('ended: ', ifNull(p.end_reason, 'closed')),
            concat('died (last heartbeat ', toString(p.heartbeat), ')')) AS how,
    p.ended AS ended,
    p.events_written AS events_written,
    p.events_dropped + p.text_log_dropped AS dropped,
    p.write_errors AS write_errors,
    ifNull(i.interrupted, 0) AS interrupted_jobs,
    p.loader_instance AS loader_instance
FROM system.asynchronous_loader_processes AS p
LEFT JOIN
(
    SELECT loader_instance, count() AS interrupted
    FROM system.asynchronous_loader_log
    WHERE type = 'JobInterrupted'
    GROUP BY loader_instance
) AS i ON i.loader_instance = p.loader_instance
ORDER BY p.started

-- Enrichments recorded after their call had ended (recorded after its call.ended was),
-- per source, for enrichments recorded in [from, to); lateness in seconds, both times
-- on our clock (recorded_at).
SELECT
    e.source AS source,
    count() AS late_enrichments,
    uniqExact(e.aggregate_id) AS calls,
    quantilesExact(0.5, 0.95)(dateDiff('second', ended.at, e.recorded_at)) AS lateness_p50_p95_s,
    max(dateDiff('second', ended.at, e.recorded_at)) AS lateness_max_s
FROM events AS e FINAL
INNER JOIN
(
    SELECT aggregate_id, min(recorded_at) AS at
    FROM events FINAL
    WHERE project_id = {project_id:UUID} AND event_type = 'call.ended'
    GROUP BY aggregate_id
) AS ended ON e.aggregate_id = ended.aggregate_id
WHERE e.project_id = {project_id:UUID}
  AND e.event_type = 'call.enriched'
  AND e.recorded_at > ended.at
  AND e.recorded_at >= {from:DateTime64(3, 'UTC')} AND e.recorded_at < {to:DateTime64(3, 'UTC')}
GROUP BY source
ORDER BY source

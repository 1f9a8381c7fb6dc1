-- What reconcile found that webhooks had not delivered, per day (recorded time), and what
-- it merely confirmed. A reconcile `call.status_observed` is a status the webhooks missed
-- (drift); a reconcile `call.enriched` adds facts (price, billing...); an ignored reconcile
-- observation with reason `duplicate` confirms what we already had.
SELECT
    toDate(recorded_at) AS day,
    countIf(event_type = 'call.status_observed') AS missed_statuses,
    uniqExactIf(aggregate_id, event_type = 'call.status_observed') AS drifted_calls,
    countIf(event_type = 'call.enriched') AS enrichments,
    countIf(event_type = 'call.observation_ignored' AND reason = 'duplicate') AS confirmations,
    round(missed_statuses / nullIf(missed_statuses + confirmations, 0), 4) AS drift_rate
FROM events FINAL
WHERE project_id = {project_id:UUID}
  AND aggregate = 'call'
  AND source = 'reconcile'
  AND recorded_at >= {from:DateTime64(3, 'UTC')} AND recorded_at < {to:DateTime64(3, 'UTC')}
GROUP BY day
ORDER BY day

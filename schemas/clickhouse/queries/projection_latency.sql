-- Webhook-to-projection latency of events recorded from webhooks in [from, to), in ms:
--   store_to_projection   recorded in the event log -> inserted into ClickHouse
--   provider_to_projection  the provider's event time -> inserted into ClickHouse (includes
--                         provider delay and clock skew; Twilio's Timestamp has seconds only)
-- The inbox's receive time is not an event field, so the webhook-to-log leg is not here.
-- projected_at is the surviving copy's insert time: after a rebuild it measures the rebuild.
SELECT
    count() AS events,
    quantilesExact(0.5, 0.9, 0.95, 0.99)(dateDiff('millisecond', recorded_at, projected_at))
        AS store_to_projection_ms,
    quantilesExact(0.5, 0.9, 0.95, 0.99)(
        dateDiff('millisecond', provider_event_time, projected_at))
        AS provider_to_projection_ms
FROM events FINAL
WHERE project_id = {project_id:UUID}
  AND source = 'webhook'
  AND recorded_at >= {from:DateTime64(3, 'UTC')} AND recorded_at < {to:DateTime64(3, 'UTC')}

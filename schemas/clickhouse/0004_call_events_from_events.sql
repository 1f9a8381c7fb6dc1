-- `call_events` (0001) is kept for its readers, now fed from `events` instead of being
-- written directly (ADR 0005): same columns and meanings, the realtime event names
-- (call.updated...), '' where a call event has no status or source, event_time the
-- provider's time else the recorded one. Its payload is superseded by the typed
-- columns of `events`, so new rows carry ''. A plain VIEW cannot be truncated, which the
-- test fixtures and a rebuild do, hence a table. Drop both once nothing reads them.
ALTER TABLE call_events MODIFY SETTING non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS call_events_from_events TO call_events AS
SELECT
    position,
    project_id,
    assumeNotNull(call_sid) AS call_sid,
    aggregate_version,
    transform(
        event_type,
        ['call.created', 'call.recording_updated', 'call.observation_ignored'],
        ['call.created', 'recording.updated', 'call.observation_ignored'],
        'call.updated'
    ) AS event_type,
    ifNull(status, '') AS status,
    ifNull(source, '') AS source,
    ifNull(provider_event_time, recorded_at) AS event_time,
    recorded_at,
    operation_id,
    trace_id,
    payload
FROM events
WHERE aggregate = 'call';

-- One row per event. ReplacingMergeTree on the global position makes redelivery harmless;
-- max(position) is the projection's checkpoint, so no second store has to agree with it.
CREATE TABLE IF NOT EXISTS call_events (
    position           UInt64,
    project_id         UUID,
    call_sid           String,
    aggregate_version  UInt32,
    event_type         LowCardinality(String),
    status             LowCardinality(String),
    source             LowCardinality(String),
    event_time         DateTime64(3, 'UTC'),
    recorded_at        DateTime64(3, 'UTC'),
    operation_id       String,
    trace_id           String,
    payload            String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (project_id, position)

-- One row per call: its latest state, as the calls view folds it from Call events (ADR 0005).
-- The projection inserts a call's state after every batch that touches it; the highest
-- aggregate version wins, so a replay is harmless. Read with FINAL (or argMax by version).
CREATE TABLE IF NOT EXISTS calls (
    project_id                 UUID,
    call_sid                   String,
    direction                  LowCardinality(Nullable(String)),
    from_number                Nullable(String),
    to_number                  Nullable(String),
    parent_call_sid            Nullable(String),
    status                     LowCardinality(String),
    last_sequence_number       Nullable(Int64),
    last_event_time            Nullable(DateTime64(3, 'UTC')),
    started_at                 Nullable(DateTime64(3, 'UTC')),
    answered_at                Nullable(DateTime64(3, 'UTC')),
    ended_at                   Nullable(DateTime64(3, 'UTC')),
    answered_by                LowCardinality(Nullable(String)),
    duration_seconds           Nullable(Int32),
    sip_response_code          Nullable(Int32),
    is_final                   Bool,
    finalized_at               Nullable(DateTime64(3, 'UTC')),
    price                      Nullable(Decimal(18, 6)),
    price_unit                 LowCardinality(Nullable(String)),
    billed_duration_seconds    Nullable(Int32),
    queue_time_ms              Nullable(Int64),
    recording_sid              Nullable(String),
    recording_status           LowCardinality(Nullable(String)),
    recording_url              Nullable(String),
    recording_duration_seconds Nullable(Int32),
    recording_channels         Nullable(Int16),
    campaign_id                Nullable(String),
    attempt_id                 Nullable(String),
    sync_state                 LowCardinality(String),
    frozen_at                  Nullable(DateTime64(3, 'UTC')),
    version                    UInt32,
    last_position              UInt64,
    created_at                 DateTime64(3, 'UTC'),
    updated_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (project_id, call_sid)
SETTINGS non_replicated_deduplication_window = 1000;

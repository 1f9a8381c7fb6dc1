-- Projects, API keys, the webhook inbox, operation outcomes, positions and the call views.
-- The event store tables (eventlog_events, ...) are created by the eventsourcing library.

CREATE TABLE IF NOT EXISTS projects (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    twilio_account_sid  text NOT NULL UNIQUE,
    twilio_auth_token   text NOT NULL,
    provider_api_url    text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id),
    key_hash    bytea NOT NULL UNIQUE,
    key_prefix  text NOT NULL,
    role        text NOT NULL DEFAULT 'admin',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys (project_id);

-- Durable inbox: a 2xx to the provider means the row below is committed.
CREATE TABLE IF NOT EXISTS webhook_inbox (
    id                 bigserial PRIMARY KEY,
    project_id         uuid NOT NULL REFERENCES projects (id),
    source             text NOT NULL,
    event_type         text NOT NULL,
    call_sid           text,
    recording_sid      text,
    message_sid        text,
    dedupe_key         text NOT NULL,
    idempotency_token  text,
    payload            jsonb NOT NULL,
    trace_id           text NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    processing_status  text NOT NULL DEFAULT 'pending',
    outcome            text,
    outcome_reason     text,
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    processed_at       timestamptz,
    error              text,
    UNIQUE (project_id, dedupe_key)
);
CREATE INDEX IF NOT EXISTS webhook_inbox_pending
    ON webhook_inbox (next_attempt_at, id) WHERE processing_status = 'pending';

-- One row per applied operation_id: a repeat reports this outcome and changes nothing.
CREATE TABLE IF NOT EXISTS operations (
    project_id    uuid NOT NULL,
    operation_id  text NOT NULL,
    aggregate_id  uuid,
    outcome       text NOT NULL,
    reason        text,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, operation_id)
);

-- Checkpoints of the relay and of every projection, by name.
CREATE TABLE IF NOT EXISTS stream_positions (
    name        text PRIMARY KEY,
    position    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calls (
    project_id            uuid NOT NULL,
    call_sid              text NOT NULL,
    direction             text,
    from_number           text,
    to_number             text,
    parent_call_sid       text,
    status                text NOT NULL,
    last_sequence_number  integer,
    last_event_time       timestamptz,
    started_at            timestamptz,
    answered_at           timestamptz,
    ended_at              timestamptz,
    duration_seconds      integer,
    sip_response_code     integer,
    is_final              boolean NOT NULL DEFAULT false,
    finalized_at          timestamptz,
    sync_state            text NOT NULL DEFAULT 'active',
    version               integer NOT NULL,
    last_position         bigint NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (project_id, call_sid)
);
CREATE INDEX IF NOT EXISTS calls_active
    ON calls (project_id, started_at DESC)
    WHERE status IN ('queued', 'initiated', 'ringing', 'in-progress');
CREATE INDEX IF NOT EXISTS calls_updated_at ON calls (updated_at DESC);
CREATE INDEX IF NOT EXISTS calls_parent_call_sid ON calls (parent_call_sid);
CREATE INDEX IF NOT EXISTS calls_project_started ON calls (project_id, started_at DESC);

-- The immutable feed: one row per event, keyed by its global position.
CREATE TABLE IF NOT EXISTS call_events (
    position           bigint PRIMARY KEY,
    project_id         uuid NOT NULL,
    call_sid           text NOT NULL,
    aggregate_version  integer NOT NULL,
    event_type         text NOT NULL,
    event_time         timestamptz NOT NULL,
    recorded_at        timestamptz NOT NULL,
    source             text,
    status             text,
    operation_id       text NOT NULL,
    trace_id           text NOT NULL,
    payload            jsonb NOT NULL,
    snapshot           jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS call_events_project_position ON call_events (project_id, position);
CREATE INDEX IF NOT EXISTS call_events_call_time ON call_events (call_sid, event_time DESC);
CREATE INDEX IF NOT EXISTS call_events_type_time ON call_events (event_type, event_time DESC);

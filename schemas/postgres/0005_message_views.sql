-- Messages (seed 000): SMS/WhatsApp/... messages, the statuses they reached, their errors.
-- Written by PostgresMessagesView with its position (stream_positions 'messages_view').
-- Not the call viewer's old `messages` table (seed 003, one snapshot per call): calls are in
-- `calls`, and the old conversation API is served from conversation_items (0007).
-- Rollback: DROP TABLE message_errors, message_deliveries, messages;
--           DELETE FROM stream_positions WHERE name = 'messages_view';

CREATE TABLE IF NOT EXISTS messages (
    project_id             uuid NOT NULL,
    message_sid            text NOT NULL,
    channel                text,
    direction              text,
    from_address           text,
    to_address             text,
    messaging_service_sid  text,
    template_id            text,
    contact_id             text,
    campaign_id            text,
    body_chars             integer,
    segments               integer,
    status                 text,
    is_final               boolean NOT NULL DEFAULT false,
    error_code             integer,
    error_message          text,
    sent_at                timestamptz,
    delivered_at           timestamptz,
    read_at                timestamptz,
    finalized_at           timestamptz,
    final_recorded_at      timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    version                integer NOT NULL,
    last_position          bigint NOT NULL,
    PRIMARY KEY (project_id, message_sid)
);
-- Seed 000's operational filter, and the unfiltered newest-first listing (keyset by sid).
CREATE INDEX IF NOT EXISTS messages_project_status_created
    ON messages (project_id, status, created_at DESC);
CREATE INDEX IF NOT EXISTS messages_project_created
    ON messages (project_id, created_at DESC, message_sid DESC);
CREATE INDEX IF NOT EXISTS messages_campaign
    ON messages (project_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- One row per status the provider reported, with the earliest provider time given for it.
CREATE TABLE IF NOT EXISTS message_deliveries (
    project_id     uuid NOT NULL,
    message_sid    text NOT NULL,
    status         text NOT NULL,
    reached_at     timestamptz,
    recorded_at    timestamptz NOT NULL,
    last_position  bigint NOT NULL,
    PRIMARY KEY (project_id, message_sid, status)
);

-- One row per error code reported, with the strongest status it came with.
CREATE TABLE IF NOT EXISTS message_errors (
    project_id           uuid NOT NULL,
    message_sid          text NOT NULL,
    error_code           integer NOT NULL,
    status               text NOT NULL,
    error_message        text,
    provider_event_time  timestamptz,
    recorded_at          timestamptz NOT NULL,
    last_position        bigint NOT NULL,
    PRIMARY KEY (project_id, message_sid, error_code)
);
CREATE INDEX IF NOT EXISTS message_errors_code
    ON message_errors (project_id, error_code, recorded_at DESC);

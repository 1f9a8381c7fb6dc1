-- Campaigns (seed 000): campaigns, their contacts, and one campaign_results row per attempt.
-- Written by PostgresCampaignsView with its position (stream_positions 'campaigns_view').
-- The counters on `campaigns` are recomputed from the two child tables, in the transaction
-- that changes them; they are never incremented.
-- Rollback: DROP TABLE campaign_results, campaign_contacts, campaigns;
--           DELETE FROM stream_positions WHERE name = 'campaigns_view';

CREATE TABLE IF NOT EXISTS campaigns (
    project_id              uuid NOT NULL,
    campaign_id             uuid NOT NULL,
    campaign_key            text NOT NULL,
    name                    text NOT NULL,
    state                   text NOT NULL,
    limits                  jsonb NOT NULL,
    contacts                integer NOT NULL DEFAULT 0,
    attempts                integer NOT NULL DEFAULT 0,
    in_flight               integer NOT NULL DEFAULT 0,
    succeeded               integer NOT NULL DEFAULT 0,
    exhausted               integer NOT NULL DEFAULT 0,
    result_no_answer        integer NOT NULL DEFAULT 0,
    result_busy             integer NOT NULL DEFAULT 0,
    result_success          integer NOT NULL DEFAULT 0,
    result_callback_needed  integer NOT NULL DEFAULT 0,
    started_at              timestamptz,
    closed_at               timestamptz,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    version                 integer NOT NULL,
    last_position           bigint NOT NULL,
    PRIMARY KEY (project_id, campaign_id),
    UNIQUE (project_id, campaign_key)
);
CREATE INDEX IF NOT EXISTS campaigns_project_created
    ON campaigns (project_id, created_at DESC, campaign_id DESC);

-- phone_number is PII: responses mask it, logs never carry it.
CREATE TABLE IF NOT EXISTS campaign_contacts (
    project_id       uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    contact_id       text NOT NULL,
    phone_number     text NOT NULL,
    attempts_used    integer NOT NULL DEFAULT 0,
    last_attempt_id  text,
    last_status      text,
    last_result      text,
    succeeded        boolean NOT NULL DEFAULT false,
    exhausted        boolean NOT NULL DEFAULT false,
    added_at         timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_position    bigint NOT NULL,
    PRIMARY KEY (project_id, campaign_id, contact_id)
);

-- One row per attempt: its status, its business result and the call that carried it.
CREATE TABLE IF NOT EXISTS campaign_results (
    project_id        uuid NOT NULL,
    campaign_id       uuid NOT NULL,
    attempt_id        text NOT NULL,
    contact_id        text NOT NULL,
    attempt_number    integer NOT NULL,
    status            text NOT NULL,
    result            text,
    call_sid          text,
    scheduled_at      timestamptz NOT NULL,
    started_at        timestamptz,
    last_observed_at  timestamptz,
    finished_at       timestamptz,
    callback_at       timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    last_position     bigint NOT NULL,
    PRIMARY KEY (project_id, campaign_id, attempt_id)
);
CREATE INDEX IF NOT EXISTS campaign_results_campaign_status
    ON campaign_results (campaign_id, status);
CREATE INDEX IF NOT EXISTS campaign_results_call_sid
    ON campaign_results (project_id, call_sid) WHERE call_sid IS NOT NULL;

-- Facts the Call aggregate records beyond status (issue 3): AMD, billing, recordings,
-- campaign links, and the freeze that ends reconciliation.
ALTER TABLE calls
    ADD COLUMN IF NOT EXISTS answered_by                 text,
    ADD COLUMN IF NOT EXISTS price                       text,
    ADD COLUMN IF NOT EXISTS price_unit                  text,
    ADD COLUMN IF NOT EXISTS billed_duration_seconds     integer,
    ADD COLUMN IF NOT EXISTS queue_time_ms               integer,
    ADD COLUMN IF NOT EXISTS recording_sid               text,
    ADD COLUMN IF NOT EXISTS recording_status            text,
    ADD COLUMN IF NOT EXISTS recording_url               text,
    ADD COLUMN IF NOT EXISTS recording_duration_seconds  integer,
    ADD COLUMN IF NOT EXISTS recording_channels          integer,
    ADD COLUMN IF NOT EXISTS campaign_id                 text,
    ADD COLUMN IF NOT EXISTS attempt_id                  text,
    ADD COLUMN IF NOT EXISTS frozen_at                   timestamptz;
CREATE INDEX IF NOT EXISTS calls_campaign ON calls (project_id, campaign_id)
    WHERE campaign_id IS NOT NULL;

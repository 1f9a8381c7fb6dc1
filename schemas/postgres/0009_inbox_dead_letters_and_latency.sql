-- Dead letters are listed newest first and counted at every /metrics scrape: index them.
CREATE INDEX IF NOT EXISTS webhook_inbox_dead
    ON webhook_inbox (id) WHERE processing_status = 'dead';

-- How often an operator replayed a row, and when last: replays are part of its history.
ALTER TABLE webhook_inbox ADD COLUMN IF NOT EXISTS replays integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_inbox ADD COLUMN IF NOT EXISTS replayed_at timestamptz;

-- worker_processing_latency_ms as a histogram every process can read: one row per bucket
-- (its upper bound in ms, +Infinity last), bumped in the worker's batch transaction.
CREATE TABLE IF NOT EXISTS worker_latency_buckets (
    le            double precision PRIMARY KEY,
    observations  bigint NOT NULL DEFAULT 0,
    sum_ms        double precision NOT NULL DEFAULT 0
);

-- Per-minute outcomes, exact under redelivery (ADR 0005). The states are uniqExact over the
-- event's position, not count(): a batch inserted twice (a retry past the dedup window, or
-- the same events under another token) pushes the same positions again, and a set union
-- counts each once. Query with uniqExactMerge; sum over campaign_id for a project's total.

-- Calls reaching a final status, by the minute they ended (provider time) and that status.
CREATE TABLE IF NOT EXISTS call_outcomes_per_minute (
    project_id  UUID,
    campaign_id String,
    minute      DateTime('UTC'),
    status      LowCardinality(String),
    calls       AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, campaign_id, minute, status)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS call_outcomes_per_minute_mv TO call_outcomes_per_minute AS
SELECT
    project_id,
    ifNull(campaign_id, '') AS campaign_id,
    toStartOfMinute(event_time) AS minute,
    assumeNotNull(status) AS status,
    uniqExactState(position) AS calls
FROM events
WHERE event_type = 'call.ended'
GROUP BY ALL;

-- Campaign attempts settled, by the minute they finished and their business result.
CREATE TABLE IF NOT EXISTS campaign_results_per_minute (
    project_id  UUID,
    campaign_id String,
    minute      DateTime('UTC'),
    result      LowCardinality(String),
    attempts    AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, campaign_id, minute, result)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_results_per_minute_mv
TO campaign_results_per_minute AS
SELECT
    project_id,
    assumeNotNull(campaign_id) AS campaign_id,
    toStartOfMinute(event_time) AS minute,
    assumeNotNull(result) AS result,
    uniqExactState(position) AS attempts
FROM events
WHERE event_type = 'campaign.attempt_finished'
GROUP BY ALL;

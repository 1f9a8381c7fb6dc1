-- Answer rate per campaign per hour, for calls that ended in [from, to) (provider time,
-- minute resolution), from the per-minute outcome sets the materialized view keeps: exact
-- (sets of positions, ADR 0005) and fast on large ranges (the benchmark runs this one).
--   calls     calls that ended in that hour
--   answered  of those, calls that ended `completed` (Twilio: answered, then ended
--             normally); answer_rate.sql counts answers from call.answered instead, which
--             also includes the rare answered call that then failed
-- campaign '' = calls of no campaign.
SELECT
    toStartOfHour(minute) AS hour,
    campaign_id AS campaign,
    uniqExactMerge(outcome_set) AS calls,
    uniqExactMergeIf(outcome_set, status = 'completed') AS answered,
    round(answered / calls, 4) AS answer_rate
FROM
(
    SELECT minute, campaign_id, status, calls AS outcome_set  -- `calls` is the output's name
    FROM call_outcomes_per_minute
    WHERE project_id = {project_id:UUID}
      AND minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
)
GROUP BY hour, campaign
ORDER BY hour, campaign

-- Answer rate per campaign per hour, from the call.ended events of calls that ended in
-- [from, to) (provider time): one scan of `events`, no join, so it stays fast on large
-- ranges (the benchmark runs this one over 10,000,000 events).
--   calls     calls that ended in that hour
--   answered  of those, calls that ended `completed` (Twilio: answered, then ended
--             normally); answer_rate.sql counts answers from call.answered instead, which
--             also includes the rare answered call that then failed
-- FINAL collapses a redelivered row (ADR 0005). campaign '' = calls of no campaign.
SELECT
    toStartOfHour(event_time) AS hour,
    ifNull(campaign_id, '') AS campaign,
    count() AS calls,
    countIf(status = 'completed') AS answered,
    round(answered / calls, 4) AS answer_rate
FROM events FINAL
WHERE project_id = {project_id:UUID}
  AND event_type = 'call.ended'
  AND event_time >= {from:DateTime64(3, 'UTC')} AND event_time < {to:DateTime64(3, 'UTC')}
GROUP BY hour, campaign
ORDER BY hour, campaign

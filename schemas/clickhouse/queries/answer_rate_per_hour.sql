-- Answer rate per campaign per hour over the raw events (no FINAL): each call counts once
-- per hour it ended in, answered when it has a call.answered. uniqExact over the aggregate
-- id makes a redelivered row harmless (ADR 0005). The benchmark runs this one.
SELECT
    toStartOfHour(ended_at) AS hour,
    campaign,
    uniqExact(aggregate_id) AS calls,
    uniqExactIf(aggregate_id, answered) AS answered,
    round(answered / calls, 4) AS answer_rate
FROM
(
    SELECT
        aggregate_id,
        anyIf(event_time, event_type = 'call.ended') AS ended_at,
        any(ifNull(campaign_id, '')) AS campaign,
        max(event_type = 'call.answered') AS answered
    FROM events
    WHERE project_id = {project_id:UUID}
      AND event_type IN ('call.ended', 'call.answered')
    GROUP BY aggregate_id
    HAVING countIf(event_type = 'call.ended') > 0
       AND ended_at >= {from:DateTime64(3, 'UTC')} AND ended_at < {to:DateTime64(3, 'UTC')}
)
GROUP BY hour, campaign
ORDER BY hour, campaign

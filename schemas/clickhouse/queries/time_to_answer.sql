-- Time to answer of calls answered in [from, to): from the first status the provider
-- reported for the call to its answer, both on the provider's clock, in milliseconds.
-- quantilesExact: the element at floor(level * n) of the sorted values.
SELECT
    count() AS answered,
    quantilesExact(0.5, 0.9, 0.95, 0.99)(wait_ms) AS p50_p90_p95_p99_ms,
    max(wait_ms) AS max_ms
FROM
(
    SELECT
        aggregate_id,
        dateDiff('millisecond',
                 minIf(provider_event_time, event_type = 'call.status_observed'),
                 anyIf(answered_at, event_type = 'call.answered')) AS wait_ms
    FROM events FINAL
    WHERE project_id = {project_id:UUID}
      AND event_type IN ('call.status_observed', 'call.answered')
    GROUP BY aggregate_id
    HAVING countIf(event_type = 'call.answered') = 1
       AND anyIf(answered_at, event_type = 'call.answered') >= {from:DateTime64(3, 'UTC')}
       AND anyIf(answered_at, event_type = 'call.answered') < {to:DateTime64(3, 'UTC')}
)

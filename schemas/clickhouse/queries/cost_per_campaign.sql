-- Cost per campaign and currency for calls that ended in [from, to). Providers report a
-- charge as a negative price, so cost = -sum(price). Unpriced calls (price not yet
-- enriched) count in `calls` but not in `priced_calls` or the cost; they form the row
-- with currency ''. cost_per_answered_call: cost / answered priced calls (NULL if none).
SELECT
    ifNull(campaign_id, '') AS campaign,
    ifNull(price_unit, '') AS currency,
    count() AS calls,
    countIf(price IS NOT NULL) AS priced_calls,
    -sum(ifNull(price, 0)) AS cost,
    sum(ifNull(billed_duration_seconds, 0)) AS billed_seconds,
    round(toFloat64(cost) / nullIf(countIf(answered_at IS NOT NULL AND price IS NOT NULL), 0), 6)
        AS cost_per_answered_call
FROM calls FINAL
WHERE project_id = {project_id:UUID}
  AND is_final
  AND ended_at >= {from:DateTime64(3, 'UTC')} AND ended_at < {to:DateTime64(3, 'UTC')}
GROUP BY campaign, currency
ORDER BY campaign, currency

-- Final outcomes per campaign ('' = calls of no campaign) for calls that ended in
-- [from, to) (minute resolution). uniqExactMerge over the per-minute sets (ADR 0005).
SELECT
    campaign_id,
    status,
    uniqExactMerge(calls) AS calls
FROM call_outcomes_per_minute
WHERE project_id = {project_id:UUID}
  AND minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
GROUP BY campaign_id, status
ORDER BY campaign_id, status

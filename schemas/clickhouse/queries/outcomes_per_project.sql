-- The project's final outcomes in [from, to) (minute resolution): the same sets as the
-- per-campaign query, merged across campaigns, which is exact because they are sets.
SELECT
    status,
    uniqExactMerge(calls) AS calls
FROM call_outcomes_per_minute
WHERE project_id = {project_id:UUID}
  AND minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
GROUP BY status
ORDER BY status

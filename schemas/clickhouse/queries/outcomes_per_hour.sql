-- Final outcomes per hour (by when the call ended, provider time) for the whole project.
-- From the per-minute sets: uniqExactMerge, never count() (ADR 0005).
SELECT
    toStartOfHour(minute) AS hour,
    status,
    uniqExactMerge(calls) AS calls
FROM call_outcomes_per_minute
WHERE project_id = {project_id:UUID}
  AND minute >= {from:DateTime64(3, 'UTC')} AND minute < {to:DateTime64(3, 'UTC')}
GROUP BY hour, status
ORDER BY hour, status

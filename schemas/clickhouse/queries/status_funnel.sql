-- How far calls created in [from, to) got: each stage counts the calls that reached it or
-- a later one (providers may skip steps: a call seen `ringing` was also initiated).
-- Stages: created, initiated, ringing, in-progress (answered), completed.
WITH reached AS
(
    SELECT
        aggregate_id,
        max(multiIf(status = 'initiated', 1, status = 'ringing', 2,
                    status = 'in-progress', 3, status = 'completed', 4, 0)) AS stage
    FROM events FINAL
    WHERE project_id = {project_id:UUID} AND event_type = 'call.status_observed'
    GROUP BY aggregate_id
)
SELECT
    stage_name AS stage,
    countIf(r.stage >= stage_rank) AS calls
FROM
(
    SELECT aggregate_id
    FROM events FINAL
    WHERE project_id = {project_id:UUID} AND event_type = 'call.created'
      AND recorded_at >= {from:DateTime64(3, 'UTC')} AND recorded_at < {to:DateTime64(3, 'UTC')}
) AS c
LEFT JOIN reached AS r USING (aggregate_id)
ARRAY JOIN
    ['created', 'initiated', 'ringing', 'in-progress', 'completed'] AS stage_name,
    [0, 1, 2, 3, 4] AS stage_rank
GROUP BY stage_name, stage_rank
ORDER BY stage_rank


-- Answer rate, ASR and ACD per campaign, plus the project's total (campaign = '*').
-- Calls that ended in [from, to) by provider time; `calls` FINAL is each call's latest state.
--   calls        calls that reached a final status
--   answered     of those, calls with an answer (call.answered; answered_at is set)
--   asr          answer-seizure ratio: answered / calls (every attempt counts)
--   answer_rate  answered / calls the network delivered to the callee
--                (completed, busy, no-answer: failed and canceled ones never rang)
--   acd_seconds  average call duration of answered calls (CallDuration, seconds)
-- campaign '' holds calls that belong to no campaign.
SELECT
    if(grouping(campaign_key) = 1, '*', campaign_key) AS campaign,
    count() AS calls,
    countIf(answered_at IS NOT NULL) AS answered,
    round(answered / calls, 4) AS asr,
    round(answered / nullIf(countIf(status IN ('completed', 'busy', 'no-answer')), 0), 4)
        AS answer_rate,
    round(avgIf(duration_seconds, answered_at IS NOT NULL), 2) AS acd_seconds
FROM
(
    SELECT ifNull(campaign_id, '') AS campaign_key, status, answered_at, duration_seconds
    FROM calls FINAL
    WHERE project_id = {project_id:UUID}
      AND is_final
      AND ended_at >= {from:DateTime64(3, 'UTC')} AND ended_at < {to:DateTime64(3, 'UTC')}
)
GROUP BY GROUPING SETS ((campaign_key), ())
ORDER BY grouping(campaign_key) DESC, campaign_key

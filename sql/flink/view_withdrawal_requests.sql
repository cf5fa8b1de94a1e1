-- Each purpose an opt-out or unsubscribe request withdraws consent for (${withdrawn_purposes}: the
-- purposes of each intent, from udfs.privacy.WITHDRAWS), from the deduplicated support messages. The
-- event time as text (UTC, to the millisecond): FIRST_VALUE takes no timestamp.
CREATE TEMPORARY VIEW withdrawal_requests AS
SELECT
  user_token,
  purpose,
  CAST(event_time AS STRING) AS since,
  user_id,
  CONCAT(event_id, '/', intent) AS request_id
FROM (
  SELECT event_id, event_time, user_id, user_token, SPLIT_INDEX(request, ':', 0) AS intent
  FROM distinct_events CROSS JOIN UNNEST(privacy) AS requests (request)
  WHERE event_type = 'support_message' AND SPLIT_INDEX(request, ':', 0) IN (${withdrawing_intents})
)
CROSS JOIN UNNEST(${withdrawn_purposes}) AS purposes (purpose)

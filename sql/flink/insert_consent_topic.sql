-- Every change of the consent state, onto the consent topic.
INSERT INTO consent_topic
  (`user_token`, `purpose`, `status`, `since`, `user_id`, `request_id`, `recorded_at`)
SELECT
  user_token,
  purpose,
  'WITHDRAWN',
  since,
  user_id,
  request_id,
  recorded_at
FROM consent_withdrawals

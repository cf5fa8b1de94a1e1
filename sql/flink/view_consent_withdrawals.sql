-- Consent withdrawn, one row per person (keyed token) and purpose: the first opt-out or unsubscribe
-- request read that withdrew it (which purposes each intent withdraws: udfs.privacy.WITHDRAWS). The
-- state of this aggregation never expires (STATE_TTL 0, where the job's other state lives for
-- table.exec.state.ttl), and an aggregation whose value does not change emits nothing when its state
-- never expires: a person who asks again, a day or a year later, is not a second change. FIRST_VALUE
-- keeps the first request read, not the earliest by event time: a value that changed afterwards would be
-- a second change on the consent topic. The job registers this view from its planned query
-- (ingest.SHARED_VIEWS), so that the table and the topic read one aggregation, and one recorded_at.
CREATE TEMPORARY VIEW consent_withdrawals AS
SELECT
  user_token,
  purpose,
  CAST(CAST(since AS TIMESTAMP(3)) AS TIMESTAMP_LTZ(6)) AS since,
  user_id,
  request_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6)) AS recorded_at
FROM (
  SELECT /*+ STATE_TTL('withdrawal_requests' = '0 ms') */
    user_token,
    purpose,
    FIRST_VALUE(since) AS since,
    FIRST_VALUE(user_id) AS user_id,
    FIRST_VALUE(request_id) AS request_id
  FROM withdrawal_requests
  GROUP BY user_token, purpose
)

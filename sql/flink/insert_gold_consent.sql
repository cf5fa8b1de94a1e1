-- Consent state, as the ingest job keeps it: one row per person and purpose withdrawn, committed with
-- the checkpoint after the request is read. Upserted by (user_token, purpose), the table's identifier
-- fields: the job writes each row once (see view_consent_withdrawals), and a job that starts without
-- that state (a replay from bronze) overwrites the rows rather than adding a second one.
INSERT INTO ${catalog_name}.gold.consent /*+ OPTIONS('uid-suffix' = 'gold-consent', 'upsert-enabled' = 'true') */
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

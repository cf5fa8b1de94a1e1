-- Privacy requests: one row per intent a support message expresses (udfs.privacy, applied by the
-- check_event UDF to the text as written; "<intent>:<confidence>:<decided by>"), keyed by <event_id>/<intent>, so a replayed message is
-- the same request. The user is kept only as a keyed hash. Due ${response_days} days after the
-- message; `flowlake privacy erase` sets the status of the erasure requests it carries out. Opt-outs and
-- unsubscribes (${withdrawing_intents}) are DONE as written: this job withdraws the consent in
-- gold.consent and on the consent topic, committed with the same checkpoint.
INSERT INTO ${catalog_name}.gold.privacy_requests /*+ OPTIONS('uid-suffix' = 'gold-privacy-requests') */
  (`request_id`, `event_id`, `user_token`, `intent`, `confidence`, `channel`, `received_at`, `due_by`, `status`, `detected_at`, `decided_by`)
SELECT
  CONCAT(event_id, '/', SPLIT_INDEX(request, ':', 0)),
  event_id,
  user_token,
  SPLIT_INDEX(request, ':', 0),
  CAST(SPLIT_INDEX(request, ':', 1) AS DOUBLE),
  channel,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  CAST(TIMESTAMPADD(DAY, ${response_days}, event_time) AS TIMESTAMP_LTZ(6)),
  IF(SPLIT_INDEX(request, ':', 0) IN (${withdrawing_intents}), 'DONE', 'OPEN'),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6)),
  REGEXP_EXTRACT(request, '^[^:]*:[^:]*:(.+)$', 1)
FROM distinct_events CROSS JOIN UNNEST(privacy) AS requests (request)
WHERE event_type = 'support_message'

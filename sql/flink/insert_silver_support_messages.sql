-- Silver support_messages: the masked record's columns (udfs.records.COLUMNS), first occurrence only.
INSERT INTO ${catalog_name}.silver.support_messages /*+ OPTIONS('uid-suffix' = 'silver-support-messages') */
  (`event_id`, `event_time`, `user_id`, `country`, `channel`, `message`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  user_id,
  country,
  channel,
  message,
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'support_message'

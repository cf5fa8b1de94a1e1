-- Silver support_messages: typed columns out of the masked record (udfs.records), first occurrence only.
INSERT INTO ${catalog_name}.silver.support_messages /*+ OPTIONS('uid-suffix' = 'silver-support-messages') */
  (`event_id`, `event_time`, `user_id`, `country`, `channel`, `message`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  JSON_VALUE(record, '$.user_id'),
  JSON_VALUE(record, '$.country'),
  JSON_VALUE(record, '$.channel'),
  JSON_VALUE(record, '$.message'),
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'support_message'

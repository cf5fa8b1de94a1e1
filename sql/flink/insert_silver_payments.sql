-- Silver payments: typed columns out of the masked record (udfs.records), first occurrence only.
INSERT INTO ${catalog_name}.silver.payments /*+ OPTIONS('uid-suffix' = 'silver-payments') */
  (`event_id`, `event_time`, `user_id`, `country`, `order_id`, `amount`, `currency`, `method`, `card_number`, `card_token`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  JSON_VALUE(record, '$.user_id'),
  JSON_VALUE(record, '$.country'),
  JSON_VALUE(record, '$.order_id'),
  CAST(JSON_VALUE(record, '$.amount') AS DECIMAL(12, 2)),
  JSON_VALUE(record, '$.currency'),
  JSON_VALUE(record, '$.method'),
  JSON_VALUE(record, '$.card_number'),
  JSON_VALUE(record, '$.card_token'),
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'payment'

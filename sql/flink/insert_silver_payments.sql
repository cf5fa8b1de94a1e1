-- Silver payments: the masked record's columns (udfs.records.COLUMNS), first occurrence only.
INSERT INTO ${catalog_name}.silver.payments /*+ OPTIONS('uid-suffix' = 'silver-payments') */
  (`event_id`, `event_time`, `user_id`, `country`, `order_id`, `amount`, `currency`, `method`, `card_number`, `card_token`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  user_id,
  country,
  order_id,
  CAST(amount AS DECIMAL(12, 2)),
  currency,
  `method`,
  card_number,
  card_token,
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'payment'

-- Silver orders: the masked record's columns (udfs.records.COLUMNS), first occurrence only.
INSERT INTO ${catalog_name}.silver.orders /*+ OPTIONS('uid-suffix' = 'silver-orders') */
  (`event_id`, `event_time`, `user_id`, `country`, `order_id`, `items`, `item_count`, `total`, `currency`, `email`, `shipping_name`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  user_id,
  country,
  order_id,
  items,
  CAST(item_count AS INT),
  CAST(total AS DECIMAL(12, 2)),
  currency,
  email,
  shipping_name,
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'order'

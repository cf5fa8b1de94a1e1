-- Silver orders: typed columns out of the masked record (udfs.records), first occurrence only.
INSERT INTO ${catalog_name}.silver.orders /*+ OPTIONS('uid-suffix' = 'silver-orders') */
  (`event_id`, `event_time`, `user_id`, `country`, `order_id`, `items`, `item_count`, `total`, `currency`, `email`, `shipping_name`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  JSON_VALUE(record, '$.user_id'),
  JSON_VALUE(record, '$.country'),
  JSON_VALUE(record, '$.order_id'),
  JSON_QUERY(record, '$.items'),
  JSON_VALUE(record, '$.items.length()' RETURNING INT),
  CAST(JSON_VALUE(record, '$.total') AS DECIMAL(12, 2)),
  JSON_VALUE(record, '$.currency'),
  JSON_VALUE(record, '$.email'),
  JSON_VALUE(record, '$.shipping_name'),
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'order'

-- Silver add_to_carts: the masked record's columns (udfs.records.COLUMNS), first occurrence only.
INSERT INTO ${catalog_name}.silver.add_to_carts /*+ OPTIONS('uid-suffix' = 'silver-add-to-carts') */
  (`event_id`, `event_time`, `user_id`, `country`, `sku`, `quantity`, `unit_price`, `session_id`, `source_partition`, `source_offset`, `source_message_id`, `processed_at`)
SELECT
  event_id,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  user_id,
  country,
  sku,
  CAST(quantity AS INT),
  CAST(unit_price AS DECIMAL(12, 2)),
  session_id,
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_type = 'add_to_cart'

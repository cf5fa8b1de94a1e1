-- The status of each order as it is now: upserted by order_id.
INSERT INTO ${catalog_name}.silver.order_status /*+ OPTIONS('uid-suffix' = 'silver-order-status', 'upsert-enabled' = 'true') */
  (`order_id`, `user_id`, `status`, `updated_at`, `source_lsn`, `source_tx_id`, `changed_at`)
SELECT
  order_id,
  user_id,
  status,
  CAST(CAST(updated_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6)),
  source_lsn,
  source_tx_id,
  CAST(CAST(changed_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6))
FROM cdc_order_status

-- The shop's customers as they are now: upserted by user_id (the table's identifier field), an update an
-- equality delete and the new row, a delete an equality delete. Email, name and phone arrive hashed.
INSERT INTO ${catalog_name}.silver.customers /*+ OPTIONS('uid-suffix' = 'silver-customers', 'upsert-enabled' = 'true') */
  (`user_id`, `email`, `full_name`, `phone`, `country`, `created_at`, `updated_at`, `source_lsn`, `source_tx_id`, `changed_at`)
SELECT
  user_id,
  email,
  full_name,
  phone,
  country,
  CAST(CAST(created_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6)),
  CAST(CAST(updated_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6)),
  source_lsn,
  source_tx_id,
  CAST(CAST(changed_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6))
FROM cdc_customers

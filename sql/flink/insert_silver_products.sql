-- The shop's products as they are now: upserted by sku.
INSERT INTO ${catalog_name}.silver.products /*+ OPTIONS('uid-suffix' = 'silver-products', 'upsert-enabled' = 'true') */
  (`sku`, `title`, `category`, `price`, `stock`, `updated_at`, `source_lsn`, `source_tx_id`, `changed_at`)
SELECT
  sku,
  title,
  category,
  CAST(price AS DECIMAL(12, 2)),
  stock,
  CAST(CAST(updated_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6)),
  source_lsn,
  source_tx_id,
  CAST(CAST(changed_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6))
FROM cdc_products

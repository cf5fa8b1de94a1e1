-- Every change of the captured tables as received, append-only (flink_jobs/cdc.py parses each envelope once).
INSERT INTO ${catalog_name}.bronze.cdc_changes /*+ OPTIONS('uid-suffix' = 'bronze-cdc-changes') */
  (`source_table`, `operation`, `user_id`, `row_key`, `before`, `after`, `lsn`, `tx_id`, `committed_at`, `ingested_at`)
SELECT
  source_table,
  operation,
  user_id,
  row_key,
  `before`,
  `after`,
  lsn,
  tx_id,
  CAST(CAST(committed_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6)),
  CAST(CAST(ingested_at AS TIMESTAMP(6)) AS TIMESTAMP_LTZ(6))
FROM cdc_changes

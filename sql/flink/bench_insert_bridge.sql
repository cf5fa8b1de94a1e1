-- Benchmarks only (`--checks bridge`, into a bench catalog): every record through an identity Python
-- UDF into bronze alone. Its rate is the ceiling PyFlink's Python bridge allows on this machine, to
-- set beside the medallion job's.
INSERT INTO ${catalog_name}.bronze.events /*+ OPTIONS('uid-suffix' = 'bench-bridge') */
  (`event_key`, `payload`, `source_topic`, `source_partition`, `source_offset`, `source_message_id`, `source_timestamp`, `ingested_at`, `headers`)
SELECT
  event_key,
  identity_bytes(payload),
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  CAST(source_timestamp AS TIMESTAMP_LTZ(6)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6)),
  headers
FROM source_events

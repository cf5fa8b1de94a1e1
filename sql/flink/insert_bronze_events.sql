-- Bronze: every record as received, with where it came from. Nothing is filtered. The uid suffix
-- keeps the Iceberg writer's and committer's operator ids stable, which restoring from a savepoint
-- depends on.
INSERT INTO ${catalog_name}.bronze.events /*+ OPTIONS('uid-suffix' = 'bronze-events') */
  (`event_key`, `payload`, `source_topic`, `source_partition`, `source_offset`, `source_message_id`, `source_timestamp`, `ingested_at`, `headers`)
SELECT
  event_key,
  payload,
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  CAST(source_timestamp AS TIMESTAMP_LTZ(6)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6)),
  headers
FROM source_events

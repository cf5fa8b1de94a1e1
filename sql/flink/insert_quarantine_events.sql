-- Quarantine: every record that failed validation, raw, with the rules it failed.
-- bronze = silver (before deduplication) + quarantine, exactly.
INSERT INTO ${catalog_name}.quarantine.events /*+ OPTIONS('uid-suffix' = 'quarantine-events') */
  (`event_key`, `payload`, `source_topic`, `source_partition`, `source_offset`, `source_message_id`, `source_timestamp`, `event_type`, `failures`, `quarantined_at`)
SELECT
  event_key,
  payload,
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  CAST(source_timestamp AS TIMESTAMP_LTZ(6)),
  checked.event_type,
  checked.failures,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM checked_events
WHERE NOT checked.valid

-- Events at or behind the watermark (more than the allowed lateness late): the gold windows they
-- belong to have closed. They are in silver; here they are listed so nothing is lost silently.
INSERT INTO ${catalog_name}.gold.late_events /*+ OPTIONS('uid-suffix' = 'gold-late-events') */
  (`event_id`, `event_type`, `event_time`, `watermark`, `source_partition`, `source_offset`, `source_message_id`, `detected_at`)
SELECT
  event_id,
  event_type,
  CAST(event_time AS TIMESTAMP_LTZ(6)),
  CAST(`watermark` AS TIMESTAMP_LTZ(6)),
  source_partition,
  source_offset,
  source_message_id,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM distinct_events
WHERE event_time <= `watermark`

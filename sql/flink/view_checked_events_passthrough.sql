-- Benchmarks only (`--checks passthrough`): checked_events without Python, to measure what the UDF
-- costs. Every record with an event_id is taken as valid and stored as received: no validation, no
-- masking, no privacy classification. Never use it on real data.
CREATE TEMPORARY VIEW checked_events AS
SELECT
  event_key,
  payload,
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  source_timestamp,
  event_time,
  processing_time,
  CAST(ROW(
    JSON_VALUE(CAST(payload AS STRING), '$.event_id') IS NOT NULL,
    JSON_VALUE(CAST(payload AS STRING), '$.event_type'),
    ARRAY['passthrough: not checked'],
    CAST(payload AS STRING),
    CAST(NULL AS ARRAY<STRING>),
    CAST(NULL AS STRING))
  AS ROW<`valid` BOOLEAN, `event_type` STRING, `failures` ARRAY<STRING>, `record` STRING, `privacy` ARRAY<STRING>,
         `user_token` STRING>) AS checked
FROM source_events

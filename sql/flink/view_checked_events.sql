-- Every record through the validation and masking UDF (udfs.records.check_event), judged as of its
-- Kafka timestamp so that reprocessing after a failure judges it the same.
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
  check_event(payload, source_timestamp) AS checked
FROM source_events

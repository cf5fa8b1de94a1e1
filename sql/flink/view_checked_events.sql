-- Every record through the validation and masking UDF (udfs.records.check_event), judged as of its
-- Kafka timestamp so that reprocessing after a failure judges it the same.
CREATE TEMPORARY VIEW checked_events AS
SELECT
  event_key,
  payload,
  kafka_topic,
  kafka_partition,
  kafka_offset,
  kafka_timestamp,
  event_time,
  processing_time,
  check_event(payload, kafka_timestamp) AS checked
FROM kafka_events

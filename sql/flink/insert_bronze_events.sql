-- Bronze: every record as received, with where it came from.
INSERT INTO ${catalog_name}.bronze.events
SELECT
  event_key,
  payload,
  kafka_topic,
  kafka_partition,
  kafka_offset,
  CAST(kafka_timestamp AS TIMESTAMP_LTZ(6)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM kafka_events

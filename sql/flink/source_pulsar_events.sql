-- Raw events from a Pulsar topic (every partition), bytes untouched, with the message metadata under
-- the same column names as source_kafka_events.sql: nothing after the source knows which one it
-- reads. Positions are checkpointed by Flink and acknowledged to the subscription on completed
-- checkpoints only; a start without a checkpoint begins at the earliest message.
--
-- source_partition is the index in the partition topic's name (persistent://.../events-partition-3),
-- -1 for a topic without partitions, as Pulsar numbers it; source_offset is null, the message id is
-- the coordinate. Message properties become the headers (UTF-8 bytes). event_time and the watermark:
-- columns_event_time.sql, against the publish time.
CREATE TEMPORARY TABLE source_events (
  event_key BYTES,
  payload BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_message_id BYTES METADATA FROM 'message_id' VIRTUAL,
  source_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'publish_time' VIRTUAL,
  properties MAP<STRING, STRING> METADATA FROM 'properties' VIRTUAL,
  source_partition AS CAST(COALESCE(REGEXP_EXTRACT(source_topic, '-partition-(\d+)$', 1), '-1') AS INT),
  source_offset AS CAST(NULL AS BIGINT),
  headers AS CAST(properties AS MAP<STRING, BYTES>),
  ${event_time_columns}
) WITH (
  'connector' = 'pulsar',
  'service-url' = '${service_url}',
  'topics' = '${topic}',
  'source.subscription-name' = '${group_id}',
  'source.start.message-id' = 'earliest',
  'key.format' = 'raw',
  'key.fields' = 'event_key',
  'format' = 'raw'
)

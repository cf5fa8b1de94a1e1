-- Raw events from Kafka, bytes untouched, with their record metadata. Offsets are committed to Kafka
-- on completed checkpoints only; a restart without a checkpoint resumes from the group's offsets.
-- source_pulsar_events.sql defines the same columns over a Pulsar topic: nothing after the source
-- knows which one it reads.
--
-- event_time and the watermark: columns_event_time.sql.
CREATE TEMPORARY TABLE source_events (
  event_key BYTES,
  payload BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  source_message_id AS CAST(NULL AS BYTES),
  source_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  headers MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,
  ${event_time_columns}
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',${kafka_options}
  'properties.group.id' = '${group_id}',
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '60s',
  'key.format' = 'raw',
  'key.fields' = 'event_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
)

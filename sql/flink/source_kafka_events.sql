-- Raw events from Kafka with their record metadata. Offsets are committed to Kafka on completed
-- checkpoints only; a restart without a checkpoint resumes from the group's committed offsets.
CREATE TEMPORARY TABLE kafka_events (
  event_key STRING,
  payload STRING,
  kafka_topic STRING METADATA FROM 'topic' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
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

-- Raw events from Kafka, bytes untouched, with their record metadata. Offsets are committed to Kafka
-- on completed checkpoints only; a restart without a checkpoint resumes from the group's offsets.
-- source_pulsar_events.sql defines the same columns over a Pulsar topic: nothing after the source
-- knows which one it reads.
--
-- event_time is the payload's event time (RFC 3339 in UTC, as the validation rules require), parsed
-- here, not in Python, because the watermark is defined on it; computed columns cannot refer to
-- each other, hence the repeated parse. A record whose time is missing, unparseable or more than
-- ${max_future_seconds} s ahead of its Kafka timestamp gets 1970-01-01, so that it never moves the
-- watermark: it fails validation and goes to quarantine, but must not drag the watermark days ahead
-- (a far-future time) or to the wall clock while old events are replayed (the Kafka timestamp).
CREATE TEMPORARY TABLE source_events (
  event_key BYTES,
  payload BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  source_message_id AS CAST(NULL AS BYTES),
  source_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  headers MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,
  event_time AS IF(
    TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
      '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$', 1), 'T', ' '))
      > TIMESTAMPADD(SECOND, ${max_future_seconds}, CAST(source_timestamp AS TIMESTAMP(3))),
    TIMESTAMP '1970-01-01 00:00:00.000',
    COALESCE(
      TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
      '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$', 1), 'T', ' ')),
      TIMESTAMP '1970-01-01 00:00:00.000')),
  processing_time AS PROCTIME(),
  -- TIMESTAMPADD, not INTERVAL 'n' SECOND: an interval literal has two digits (SECOND(2)), 100 s or more fails.
  WATERMARK FOR event_time AS TIMESTAMPADD(SECOND, -${allowed_lateness_seconds}, event_time)
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

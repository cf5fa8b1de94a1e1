-- Raw events from Kafka, bytes untouched, with their record metadata. Offsets are committed to Kafka
-- on completed checkpoints only; a restart without a checkpoint resumes from the group's offsets.
--
-- event_time is the payload's RFC 3339 event time, parsed here (not in Python) because the
-- watermark is defined on it. A record whose time is missing, unparseable or more than
-- ${max_future_seconds} s ahead of its Kafka timestamp falls back to the Kafka timestamp: such a
-- record fails validation anyway, and must not drag the watermark days ahead.
CREATE TEMPORARY TABLE kafka_events (
  event_key BYTES,
  payload BYTES,
  kafka_topic STRING METADATA FROM 'topic' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  headers MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,
  event_time_text AS JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
  parsed_event_time AS TIMESTAMPADD(MINUTE,
    CASE
      WHEN event_time_text LIKE '%Z' THEN 0
      ELSE (CASE WHEN SUBSTRING(event_time_text FROM CHAR_LENGTH(event_time_text) - 5 FOR 1) = '-' THEN 1 ELSE -1 END)
        * (CAST(SUBSTRING(event_time_text FROM CHAR_LENGTH(event_time_text) - 4 FOR 2) AS INT) * 60
           + CAST(SUBSTRING(event_time_text FROM CHAR_LENGTH(event_time_text) - 1 FOR 2) AS INT))
    END,
    TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(event_time_text,
      '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|[+-]\d{2}:\d{2})$', 1), 'T', ' '))),
  event_time AS CASE
    WHEN parsed_event_time IS NULL
      OR parsed_event_time > TIMESTAMPADD(SECOND, ${max_future_seconds}, CAST(kafka_timestamp AS TIMESTAMP(3)))
    THEN CAST(kafka_timestamp AS TIMESTAMP(3))
    ELSE parsed_event_time
  END,
  processing_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${allowed_lateness_seconds}' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group_id}',
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '60s',
  'scan.watermark.idle-timeout' = '${idle_timeout_seconds}s',
  'key.format' = 'raw',
  'key.fields' = 'event_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
)

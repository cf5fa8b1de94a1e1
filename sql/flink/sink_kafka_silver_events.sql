-- The silver stream on Kafka: each valid, masked, deduplicated event as silver stores it (the
-- masked JSON record), keyed by user_id, with its event time as the Kafka timestamp (consumers get
-- per-partition watermarks from it without parsing), for streaming consumers such as the sessions job. Written
-- in Kafka transactions committed with each checkpoint: read it with isolation.level=read_committed.
-- The broker allows transactions of up to an hour (transaction.max.timeout.ms), the sink's default.
CREATE TEMPORARY TABLE silver_events_topic (
  user_id STRING,
  record STRING,
  event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
) WITH (
  'connector' = 'kafka',
  'topic' = '${silver_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',${kafka_options}
  'key.format' = 'raw',
  'key.fields' = 'user_id',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}'
)

-- The consent state for the systems that honour it (the mailer, the ad platform): a compacted topic
-- keyed by {"user_token", "purpose"} (JSON), the value the gold.consent row as JSON. One record per
-- change, in Kafka transactions committed with each checkpoint (read it with
-- isolation.level=read_committed); compaction keeps the latest record of each key.
CREATE TEMPORARY TABLE consent_topic (
  user_token STRING,
  purpose STRING,
  status STRING,
  since TIMESTAMP_LTZ(6),
  user_id STRING,
  request_id STRING,
  recorded_at TIMESTAMP_LTZ(6),
  PRIMARY KEY (user_token, purpose) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${consent_topic}',
  'properties.bootstrap.servers' = '${bootstrap}',${kafka_options}
  'key.format' = 'json',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}'
)

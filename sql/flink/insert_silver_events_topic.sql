-- Every event silver stores, onto the silver topic (late ones too: lateness is the gold windows' concern).
INSERT INTO silver_events_topic
  (`user_id`, `record`)
SELECT
  JSON_VALUE(record, '$.user_id'),
  record
FROM distinct_events

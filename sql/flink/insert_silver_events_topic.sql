-- Every event silver stores, onto the silver topic (late ones too: lateness is the gold windows' concern).
INSERT INTO silver_events_topic
  (`user_id`, `record`, `event_time`)
SELECT
  user_id,
  record,
  CAST(event_time AS TIMESTAMP_LTZ(3))
FROM distinct_events

-- The replayed records that are valid now, the first occurrence of each event id, and none whose event
-- id silver already has: a replay run twice, or again after one that died between its tables' commits,
-- writes each event once. The silver inserts (insert_silver_*.sql) read this view as they read the
-- ingest job's distinct_events; the columns are udfs.records.COLUMNS, the check's.
CREATE TEMPORARY VIEW distinct_events AS
SELECT *
FROM (
  SELECT
    checked.event_type AS event_type,
    event_time,
    source_partition,
    source_offset,
    source_message_id,
    ${columns},
    ROW_NUMBER() OVER (PARTITION BY checked.event_id
                       ORDER BY source_timestamp, source_partition, source_offset) AS occurrence
  FROM checked_events
  WHERE checked.valid
)
WHERE occurrence = 1
  AND event_id NOT IN (SELECT event_id FROM (${silver_event_ids}))

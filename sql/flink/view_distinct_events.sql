-- Valid records, the first occurrence of each event_id only (keyed state per event_id, kept for
-- table.exec.state.ttl), with the watermark each one met: at or behind it, the event is late for
-- the gold windows.
CREATE TEMPORARY VIEW distinct_events AS
SELECT
  event_id,
  event_type,
  record,
  event_time,
  kafka_partition,
  kafka_offset,
  CURRENT_WATERMARK(event_time) AS `watermark`
FROM (
  SELECT
    JSON_VALUE(checked.record, '$.event_id') AS event_id,
    checked.event_type AS event_type,
    checked.record AS record,
    event_time,
    kafka_partition,
    kafka_offset,
    ROW_NUMBER() OVER (PARTITION BY JSON_VALUE(checked.record, '$.event_id') ORDER BY processing_time) AS occurrence
  FROM checked_events
  WHERE checked.valid
)
WHERE occurrence = 1

-- Valid records, the first occurrence of each event_id only (keyed state per event_id, kept for
-- table.exec.state.ttl), with the watermark each one met: at or behind it, the event is late for
-- the gold windows.
--
-- Flink does not checkpoint watermarks: after a restart the watermark is unknown until every
-- partition has delivered a record again, and a late event read first would reopen a gold window
-- that was written before the stop (a second row for it). ${watermark_floor} is 1 ms before the end
-- of the newest gold window already written (`flowlake submit` reads it from the gold tables), so
-- the watermark an event meets is never below it, restart or not.
CREATE TEMPORARY VIEW distinct_events AS
SELECT
  event_id,
  event_type,
  record,
  event_time,
  source_partition,
  source_offset,
  source_message_id,
  privacy,
  user_token,
  GREATEST(COALESCE(CURRENT_WATERMARK(event_time), TIMESTAMP '${watermark_floor}'),
           TIMESTAMP '${watermark_floor}') AS `watermark`
FROM (
  SELECT
    JSON_VALUE(checked.record, '$.event_id') AS event_id,
    checked.event_type AS event_type,
    checked.record AS record,
    event_time,
    source_partition,
    source_offset,
    source_message_id,
    checked.privacy AS privacy,
    checked.user_token AS user_token,
    ROW_NUMBER() OVER (PARTITION BY JSON_VALUE(checked.record, '$.event_id') ORDER BY processing_time) AS occurrence
  FROM checked_events
  WHERE checked.valid
)
WHERE occurrence = 1

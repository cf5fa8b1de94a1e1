-- Valid records, the first occurrence of each event_id only (keyed state per event_id, kept for
-- table.exec.state.ttl), with the watermark each one met: at or behind it, the event is late for
-- the gold windows. The record's fields come as columns out of the check (udfs.records.COLUMNS, parsed
-- once, in Python): nothing after this parses JSON.
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
  order_lines,
  user_id,
  country,
  page,
  session_id,
  ip_address,
  user_agent,
  sku,
  quantity,
  unit_price,
  order_id,
  items,
  item_count,
  total,
  currency,
  email,
  shipping_name,
  amount,
  `method`,
  card_number,
  card_token,
  channel,
  message,
  GREATEST(COALESCE(CURRENT_WATERMARK(event_time), TIMESTAMP '${watermark_floor}'),
           TIMESTAMP '${watermark_floor}') AS `watermark`
FROM (
  SELECT
    checked.event_id AS event_id,
    checked.event_type AS event_type,
    checked.record AS record,
    event_time,
    source_partition,
    source_offset,
    source_message_id,
    checked.privacy AS privacy,
    checked.user_token AS user_token,
    checked.order_lines AS order_lines,
    checked.user_id AS user_id,
    checked.country AS country,
    checked.page AS page,
    checked.session_id AS session_id,
    checked.ip_address AS ip_address,
    checked.user_agent AS user_agent,
    checked.sku AS sku,
    checked.quantity AS quantity,
    checked.unit_price AS unit_price,
    checked.order_id AS order_id,
    checked.items AS items,
    checked.item_count AS item_count,
    checked.total AS total,
    checked.currency AS currency,
    checked.email AS email,
    checked.shipping_name AS shipping_name,
    checked.amount AS amount,
    checked.`method` AS `method`,
    checked.card_number AS card_number,
    checked.card_token AS card_token,
    checked.channel AS channel,
    checked.message AS message,
    ROW_NUMBER() OVER (PARTITION BY checked.event_id ORDER BY processing_time) AS occurrence
  FROM checked_events
  WHERE checked.valid
)
WHERE occurrence = 1

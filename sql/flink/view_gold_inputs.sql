-- The columns the gold windows need, out of on-time events.
CREATE TEMPORARY VIEW gold_inputs AS
SELECT
  event_type,
  event_time,
  JSON_VALUE(record, '$.user_id') AS user_id,
  JSON_VALUE(record, '$.country') AS country,
  JSON_VALUE(record, '$.currency') AS currency,
  CAST(JSON_VALUE(record, '$.total') AS DECIMAL(12, 2)) AS total
FROM on_time_events
WHERE event_type IN ('page_view', 'add_to_cart', 'order')

-- One row per order line of the on-time orders, for the gold revenue windows. The lines were
-- validated (udfs/rules/events.toml, [elements.order_line]) before they got here.
CREATE TEMPORARY VIEW gold_order_lines AS
SELECT
  event_id,
  event_time,
  JSON_VALUE(record, '$.country') AS country,
  JSON_VALUE(record, '$.currency') AS currency,
  JSON_VALUE(line, '$.category') AS category,
  JSON_VALUE(line, '$.quantity' RETURNING INT) AS quantity,
  CAST(JSON_VALUE(line, '$.quantity' RETURNING INT) * CAST(JSON_VALUE(line, '$.unit_price') AS DECIMAL(12, 2))
       AS DECIMAL(18, 2)) AS amount
FROM on_time_events
CROSS JOIN UNNEST(JSON_QUERY(record, '$.items' RETURNING ARRAY<STRING>)) AS lines (line)
WHERE event_type = 'order'

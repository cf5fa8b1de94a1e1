-- One row per order line of the on-time orders, for the gold revenue windows. The lines were
-- validated (udfs/rules/events.toml, [elements.order_line]) before they got here, and come as
-- "<category>|<quantity>|<unit_price>" (udfs.records.order_lines).
CREATE TEMPORARY VIEW gold_order_lines AS
SELECT
  event_id,
  event_time,
  country,
  currency,
  SPLIT_INDEX(line, '|', 0) AS category,
  CAST(SPLIT_INDEX(line, '|', 1) AS INT) AS quantity,
  CAST(CAST(SPLIT_INDEX(line, '|', 1) AS INT) * CAST(SPLIT_INDEX(line, '|', 2) AS DECIMAL(12, 2))
       AS DECIMAL(18, 2)) AS amount
FROM on_time_events
CROSS JOIN UNNEST(order_lines) AS lines (line)
WHERE event_type = 'order'

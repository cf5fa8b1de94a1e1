-- Daily revenue restated from silver (flink_jobs/restate.py): every order of the days from ${from_ms} to
-- ${until_ms} (epoch ms, whole UTC days), the late ones included, order lines summed as the stream sums
-- them (sql/flink/view_gold_order_lines.sql). INSERT OVERWRITE replaces the day partitions this writes
-- and no other, in one commit (Iceberg's dynamic overwrite in a batch job). A day is final once it ended
-- at or before ${final_before_ms}.
INSERT OVERWRITE ${catalog_name}.gold.revenue_daily
SELECT
  `day`,
  country,
  category,
  currency,
  COUNT(DISTINCT event_id),
  CAST(SUM(quantity) AS BIGINT),
  CAST(SUM(amount) AS DECIMAL(18, 2)),
  `day` <= TIMESTAMPADD(DAY, -1, TO_TIMESTAMP_LTZ(${final_before_ms}, 3)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM (
  SELECT
    CAST(FLOOR(o.event_time TO DAY) AS TIMESTAMP_LTZ(6)) AS `day`,
    o.event_id,
    o.country,
    o.currency,
    JSON_VALUE(line, '$.category') AS category,
    CAST(JSON_VALUE(line, '$.quantity') AS INT) AS quantity,
    CAST(JSON_VALUE(line, '$.quantity') AS INT) * CAST(JSON_VALUE(line, '$.unit_price') AS DECIMAL(12, 2)) AS amount
  FROM ${catalog_name}.silver.orders AS o
  CROSS JOIN UNNEST(JSON_QUERY(o.items, '$[*]' RETURNING ARRAY<STRING>)) AS lines (line)
  WHERE o.event_time >= TO_TIMESTAMP_LTZ(${from_ms}, 3) AND o.event_time < TO_TIMESTAMP_LTZ(${until_ms}, 3)
)
GROUP BY `day`, country, category, currency

-- Orders, units and revenue per minute of event time, per country, product category and currency.
-- A window is written once, when the watermark passes its end.
INSERT INTO ${catalog_name}.gold.revenue_per_minute /*+ OPTIONS('uid-suffix' = 'gold-revenue-per-minute') */
  (`window_start`, `window_end`, `country`, `category`, `currency`, `orders`, `units`, `revenue`)
SELECT
  CAST(window_start AS TIMESTAMP_LTZ(6)),
  CAST(window_end AS TIMESTAMP_LTZ(6)),
  country,
  category,
  currency,
  COUNT(DISTINCT event_id),
  CAST(SUM(quantity) AS BIGINT),
  CAST(SUM(amount) AS DECIMAL(18, 2))
FROM TABLE(TUMBLE(TABLE gold_order_lines, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, country, category, currency

-- Orders and revenue per minute of event time, per country and currency. A window is written once,
-- when the watermark passes its end.
INSERT INTO ${catalog_name}.gold.revenue_per_minute /*+ OPTIONS('uid-suffix' = 'gold-revenue-per-minute') */
SELECT
  CAST(window_start AS TIMESTAMP_LTZ(6)),
  CAST(window_end AS TIMESTAMP_LTZ(6)),
  country,
  currency,
  COUNT(*),
  CAST(SUM(total) AS DECIMAL(18, 2))
FROM TABLE(TUMBLE(TABLE gold_inputs, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
WHERE event_type = 'order'
GROUP BY window_start, window_end, country, currency

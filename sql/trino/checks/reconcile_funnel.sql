-- Page views, add-to-carts and orders of the closed hours: gold.funnel_hourly against the on-time events of
-- silver (the late ones are in gold.late_events and in no window). Rows: subject, gold, silver.
WITH late AS (
  SELECT event_id FROM ${gold.late_events} WHERE event_time >= ${from} AND event_time < ${until}
),
silver AS (
  SELECT 'page_views' AS subject, count(*) AS n FROM ${silver.page_views}
  WHERE event_time >= ${from} AND event_time < ${until} AND event_id NOT IN (SELECT event_id FROM late)
  UNION ALL
  SELECT 'add_to_carts', count(*) FROM ${silver.add_to_carts}
  WHERE event_time >= ${from} AND event_time < ${until} AND event_id NOT IN (SELECT event_id FROM late)
  UNION ALL
  SELECT 'orders', count(*) FROM ${silver.orders}
  WHERE event_time >= ${from} AND event_time < ${until} AND event_id NOT IN (SELECT event_id FROM late)
),
gold AS (
  SELECT sum(page_views) AS page_views, sum(add_to_carts) AS add_to_carts, sum(orders) AS orders
  FROM ${gold.funnel_hourly}
  WHERE window_start >= ${from} AND window_start < ${until}
)
SELECT s.subject,
       CAST(CASE s.subject WHEN 'page_views' THEN g.page_views WHEN 'add_to_carts' THEN g.add_to_carts
                           ELSE g.orders END AS double) AS gold_value,
       CAST(s.n AS double) AS silver_value
FROM silver s CROSS JOIN gold g

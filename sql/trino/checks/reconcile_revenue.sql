-- Revenue per currency of the closed one-minute windows: gold.revenue_per_minute against the on-time
-- orders of silver (the late ones are in gold.late_events and in no window), order lines summed as the
-- ingest job sums them (sql/flink/view_gold_order_lines.sql). Rows: subject, gold, silver.
WITH silver AS (
  SELECT o.currency,
         sum(CAST(json_extract_scalar(line, '$.quantity') AS bigint)
             * CAST(json_extract_scalar(line, '$.unit_price') AS decimal(12, 2))) AS revenue
  FROM ${silver.orders} o
  CROSS JOIN UNNEST(CAST(json_parse(o.items) AS array(json))) AS l (line)
  WHERE o.event_time >= ${from} AND o.event_time < ${until}
    AND o.event_id NOT IN (SELECT event_id FROM ${gold.late_events}
                           WHERE event_time >= ${from} AND event_time < ${until})
  GROUP BY 1
),
gold AS (
  SELECT currency, sum(revenue) AS revenue
  FROM ${gold.revenue_per_minute}
  WHERE window_start >= ${from} AND window_start < ${until}
  GROUP BY 1
)
SELECT 'revenue ' || coalesce(g.currency, s.currency) AS subject, CAST(g.revenue AS double) AS gold_value,
       CAST(s.revenue AS double) AS silver_value
FROM gold g FULL JOIN silver s ON g.currency = s.currency

-- Revenue per day of event time, country, product category and currency: the days restated from silver
-- (gold.revenue_daily: late events included, `final` once they change no more) and, for the days not
-- restated yet (today), the stream's per-minute windows (on-time events only). Currencies are never added
-- together; an order with lines in two categories counts in both.
CREATE OR REPLACE VIEW lakehouse.analytics.revenue_daily
COMMENT 'Orders, units and revenue per day, country, product category and currency (restated days from gold.revenue_daily, others from gold.revenue_per_minute)'
SECURITY DEFINER AS
SELECT CAST(day AS date) AS day, country, category, currency, orders, units, revenue, final,
       'restated' AS computed_from
FROM lakehouse.gold.revenue_daily
UNION ALL
SELECT
  CAST(window_start AS date) AS day,
  country,
  category,
  currency,
  sum(orders) AS orders,
  sum(units) AS units,
  sum(revenue) AS revenue,
  false AS final,
  'stream' AS computed_from
FROM lakehouse.gold.revenue_per_minute
WHERE CAST(window_start AS date) NOT IN (SELECT CAST(day AS date) FROM lakehouse.gold.revenue_daily)
GROUP BY 1, 2, 3, 4

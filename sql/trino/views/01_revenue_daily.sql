-- Revenue per day of event time, country, product category and currency, from the per-minute
-- windows. Currencies are never added together; an order with lines in two categories counts in both.
CREATE OR REPLACE VIEW lakehouse.analytics.revenue_daily
COMMENT 'Orders, units and revenue per day, country, product category and currency (gold.revenue_per_minute)'
SECURITY DEFINER AS
SELECT
  CAST(window_start AS date) AS day,
  country,
  category,
  currency,
  sum(orders) AS orders,
  sum(units) AS units,
  sum(revenue) AS revenue
FROM lakehouse.gold.revenue_per_minute
GROUP BY 1, 2, 3, 4

-- The shop funnel per day: page views -> add to cart -> orders, with conversion rates. Restated days
-- (gold.funnel_daily: late events included) have the day's distinct visitors and buyers; the days not
-- restated yet (today) come from the stream's hourly windows, whose visitors and buyers can only be summed
-- over hours (a user active in two hours counts twice: visitor_hours, buyer_hours, and rates per
-- visitor-hour).
CREATE OR REPLACE VIEW lakehouse.analytics.funnel_daily
COMMENT 'Page views, add-to-carts, orders and conversion rates per day (restated days from gold.funnel_daily, others from gold.funnel_hourly)'
SECURITY DEFINER AS
SELECT
  CAST(day AS date) AS day,
  page_views,
  add_to_carts,
  orders,
  CAST(NULL AS bigint) AS visitor_hours,
  CAST(NULL AS bigint) AS buyer_hours,
  visitors,
  buyers,
  round(CAST(add_to_carts AS double) / nullif(page_views, 0), 4) AS cart_per_view,
  round(CAST(orders AS double) / nullif(add_to_carts, 0), 4) AS order_per_cart,
  round(CAST(buyers AS double) / nullif(visitors, 0), 4) AS buyer_conversion,
  final,
  'restated' AS computed_from
FROM lakehouse.gold.funnel_daily
UNION ALL
SELECT
  CAST(window_start AS date) AS day,
  sum(page_views) AS page_views,
  sum(add_to_carts) AS add_to_carts,
  sum(orders) AS orders,
  sum(visitors) AS visitor_hours,
  sum(buyers) AS buyer_hours,
  CAST(NULL AS bigint) AS visitors,
  CAST(NULL AS bigint) AS buyers,
  round(CAST(sum(add_to_carts) AS double) / nullif(sum(page_views), 0), 4) AS cart_per_view,
  round(CAST(sum(orders) AS double) / nullif(sum(add_to_carts), 0), 4) AS order_per_cart,
  round(CAST(sum(buyers) AS double) / nullif(sum(visitors), 0), 4) AS buyer_conversion,
  false AS final,
  'stream' AS computed_from
FROM lakehouse.gold.funnel_hourly
WHERE CAST(window_start AS date) NOT IN (SELECT CAST(day AS date) FROM lakehouse.gold.funnel_daily)
GROUP BY 1

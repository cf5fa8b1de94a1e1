-- The shop funnel per day: page views -> add to cart -> orders, with conversion rates. Visitors and
-- buyers are summed over hours (a user active in two hours counts twice): rates between them are
-- per visitor-hour.
CREATE OR REPLACE VIEW lakehouse.analytics.funnel_daily
COMMENT 'Page views, add-to-carts, orders and conversion rates per day (gold.funnel_hourly)'
SECURITY DEFINER AS
SELECT
  CAST(window_start AS date) AS day,
  sum(page_views) AS page_views,
  sum(add_to_carts) AS add_to_carts,
  sum(orders) AS orders,
  sum(visitors) AS visitor_hours,
  sum(buyers) AS buyer_hours,
  round(CAST(sum(add_to_carts) AS double) / nullif(sum(page_views), 0), 4) AS cart_per_view,
  round(CAST(sum(orders) AS double) / nullif(sum(add_to_carts), 0), 4) AS order_per_cart,
  round(CAST(sum(buyers) AS double) / nullif(sum(visitors), 0), 4) AS buyer_conversion
FROM lakehouse.gold.funnel_hourly
GROUP BY 1

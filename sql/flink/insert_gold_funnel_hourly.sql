-- The page_view -> add_to_cart -> order funnel per hour of event time.
INSERT INTO ${catalog_name}.gold.funnel_hourly /*+ OPTIONS('uid-suffix' = 'gold-funnel-hourly') */
  (`window_start`, `window_end`, `page_views`, `add_to_carts`, `orders`, `visitors`, `buyers`)
SELECT
  CAST(window_start AS TIMESTAMP_LTZ(6)),
  CAST(window_end AS TIMESTAMP_LTZ(6)),
  COUNT(*) FILTER (WHERE event_type = 'page_view'),
  COUNT(*) FILTER (WHERE event_type = 'add_to_cart'),
  COUNT(*) FILTER (WHERE event_type = 'order'),
  COUNT(DISTINCT user_id) FILTER (WHERE event_type = 'page_view'),
  COUNT(DISTINCT user_id) FILTER (WHERE event_type = 'order')
FROM TABLE(TUMBLE(TABLE gold_inputs, DESCRIPTOR(event_time), INTERVAL '1' HOUR))
GROUP BY window_start, window_end

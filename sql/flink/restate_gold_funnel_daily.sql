-- The daily funnel restated from silver (flink_jobs/restate.py): page views, add-to-carts and orders of the
-- days from ${from_ms} to ${until_ms} (epoch ms, whole UTC days), the late ones included, with the day's
-- distinct visitors and buyers (the hourly gold can only sum them per hour). INSERT OVERWRITE replaces the
-- day partitions this writes, in one commit. A day is final once it ended at or before ${final_before_ms}.
INSERT OVERWRITE ${catalog_name}.gold.funnel_daily
SELECT
  `day`,
  CAST(SUM(page_view) AS BIGINT),
  CAST(SUM(add_to_cart) AS BIGINT),
  CAST(SUM(`order`) AS BIGINT),
  COUNT(DISTINCT CASE WHEN page_view = 1 THEN user_id END),
  COUNT(DISTINCT CASE WHEN `order` = 1 THEN user_id END),
  `day` <= TIMESTAMPADD(DAY, -1, TO_TIMESTAMP_LTZ(${final_before_ms}, 3)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM (
  SELECT CAST(FLOOR(event_time TO DAY) AS TIMESTAMP_LTZ(6)) AS `day`, user_id, 1 AS page_view, 0 AS add_to_cart,
         0 AS `order`
  FROM ${catalog_name}.silver.page_views
  WHERE event_time >= TO_TIMESTAMP_LTZ(${from_ms}, 3) AND event_time < TO_TIMESTAMP_LTZ(${until_ms}, 3)
  UNION ALL
  SELECT CAST(FLOOR(event_time TO DAY) AS TIMESTAMP_LTZ(6)), user_id, 0, 1, 0
  FROM ${catalog_name}.silver.add_to_carts
  WHERE event_time >= TO_TIMESTAMP_LTZ(${from_ms}, 3) AND event_time < TO_TIMESTAMP_LTZ(${until_ms}, 3)
  UNION ALL
  SELECT CAST(FLOOR(event_time TO DAY) AS TIMESTAMP_LTZ(6)), user_id, 0, 0, 1
  FROM ${catalog_name}.silver.orders
  WHERE event_time >= TO_TIMESTAMP_LTZ(${from_ms}, 3) AND event_time < TO_TIMESTAMP_LTZ(${until_ms}, 3)
)
GROUP BY `day`

-- Closed sessions from the sessions job's keyed function (udfs.flink_sessions.Sessionize).
INSERT INTO ${catalog_name}.gold.sessions /*+ OPTIONS('uid-suffix' = 'gold-sessions') */
  (`session_id`, `user_id`, `session_start`, `session_end`, `events`, `page_views`, `cart_adds`, `orders`, `revenue`, `closed_at`)
SELECT
  session_id,
  user_id,
  CAST(TO_TIMESTAMP_LTZ(start_ms, 3) AS TIMESTAMP_LTZ(6)),
  CAST(TO_TIMESTAMP_LTZ(end_ms, 3) AS TIMESTAMP_LTZ(6)),
  events,
  page_views,
  cart_adds,
  orders,
  CAST(CAST(revenue_cents AS DECIMAL(20, 0)) / 100 AS DECIMAL(18, 2)),
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM closed_sessions

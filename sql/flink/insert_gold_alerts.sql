-- Velocity alerts from the sessions job's keyed function (udfs.flink_sessions.CardVelocity); the
-- same alerts go to the alerts topic.
INSERT INTO ${catalog_name}.gold.alerts /*+ OPTIONS('uid-suffix' = 'gold-alerts') */
  (`alert_id`, `rule`, `card_token`, `user_id`, `payment_event_id`, `payment_time`, `window_start`, `payments`, `amount`, `reasons`, `detected_at`)
SELECT
  alert_id,
  'velocity',
  card_token,
  user_id,
  payment_event_id,
  CAST(TO_TIMESTAMP_LTZ(time_ms, 3) AS TIMESTAMP_LTZ(6)),
  CAST(TO_TIMESTAMP_LTZ(window_start_ms, 3) AS TIMESTAMP_LTZ(6)),
  payments,
  CAST(CAST(amount_cents AS DECIMAL(20, 0)) / 100 AS DECIMAL(18, 2)),
  reasons,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(6))
FROM velocity_alerts

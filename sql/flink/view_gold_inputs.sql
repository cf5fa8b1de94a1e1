-- The columns the gold funnel needs, out of on-time events.
CREATE TEMPORARY VIEW gold_inputs AS
SELECT
  event_type,
  event_time,
  user_id
FROM on_time_events
WHERE event_type IN ('page_view', 'add_to_cart', 'order')

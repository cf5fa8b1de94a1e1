-- Sessions per day of their start: how many, how long, how deep, how many ended in an order.
CREATE OR REPLACE VIEW lakehouse.analytics.session_stats_daily
COMMENT 'Sessions per day: count, users, average duration and events, share with an order, revenue (gold.sessions)'
SECURITY DEFINER AS
SELECT
  CAST(session_start AS date) AS day,
  count(*) AS sessions,
  count(DISTINCT user_id) AS users,
  round(avg(to_milliseconds(session_end - session_start)) / 1000.0, 3) AS avg_duration_seconds,
  round(avg(events), 3) AS avg_events,
  count_if(orders > 0) AS sessions_with_order,
  sum(revenue) AS revenue
FROM lakehouse.gold.sessions
GROUP BY 1

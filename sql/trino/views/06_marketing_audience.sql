-- Who marketing may address: customers active in the last 90 days (a page view, an add-to-cart or an
-- order), with their latest country and how active they were, minus everyone who withdrew consent for
-- any purpose (gold.consent: an unsubscribe stops marketing email, an opt-out everything; the audience
-- feeds email campaigns, ad platforms and profiling alike). gold.consent is written by the ingest job
-- with each checkpoint, so a person who opts out leaves this view within a checkpoint interval, and stays
-- out whatever they do afterwards.
CREATE OR REPLACE VIEW lakehouse.analytics.marketing_audience
COMMENT 'Customers active in the last 90 days whom marketing may address: no withdrawn consent (silver, gold.consent)'
SECURITY DEFINER AS
SELECT
  a.user_id,
  max_by(a.country, a.event_time) AS country,
  max(a.event_time) AS last_seen,
  count_if(a.kind = 'page_view') AS page_views,
  count_if(a.kind = 'add_to_cart') AS add_to_carts,
  count_if(a.kind = 'order') AS orders
FROM (
  SELECT user_id, country, event_time, 'page_view' AS kind FROM lakehouse.silver.page_views
  UNION ALL
  SELECT user_id, country, event_time, 'add_to_cart' FROM lakehouse.silver.add_to_carts
  UNION ALL
  SELECT user_id, country, event_time, 'order' FROM lakehouse.silver.orders
) AS a
WHERE a.event_time > current_timestamp - INTERVAL '90' DAY
  AND NOT EXISTS (SELECT 1 FROM lakehouse.gold.consent AS c WHERE c.user_id = a.user_id)
GROUP BY a.user_id

-- Each order with its customer as the shop database has them now (change data capture: silver.customers, an
-- upsert table) and the order's current status there (silver.order_status). Left joins: an order whose
-- customer left the shop (or was never in it) keeps its row, with the customer's columns null. Email and
-- name are the keyed hashes the event tables carry too, so they join and count without being read.
CREATE OR REPLACE VIEW lakehouse.analytics.customer_orders
COMMENT 'Orders (silver.orders) with their customer (silver.customers) and current status (silver.order_status)'
SECURITY DEFINER AS
SELECT
  o.order_id,
  o.event_time AS ordered_at,
  o.user_id,
  o.total,
  o.currency,
  o.country AS order_country,
  c.country AS customer_country,
  c.created_at AS customer_since,
  c.email AS customer_email,
  s.status AS current_status,
  s.updated_at AS status_since
FROM lakehouse.silver.orders AS o
LEFT JOIN lakehouse.silver.customers AS c ON c.user_id = o.user_id
LEFT JOIN lakehouse.silver.order_status AS s ON s.order_id = o.order_id

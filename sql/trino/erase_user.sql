-- Erasure of one person: every row of theirs, table by table, in this order (`flowlake privacy erase`
-- runs it as an engineer, then rewrites the files these deletes touched and expires the snapshots that
-- still hold the rows). ${user_id} has passed the user_id validation rule (U + 5 digits) before it
-- gets here. Each statement deletes from the one table named after DELETE FROM.
--
-- gold.late_events lists event ids only: the person's are found through silver, so it goes first.
DELETE FROM lakehouse.gold.late_events WHERE event_id IN (
  SELECT event_id FROM lakehouse.silver.page_views WHERE user_id = '${user_id}'
  UNION ALL SELECT event_id FROM lakehouse.silver.add_to_carts WHERE user_id = '${user_id}'
  UNION ALL SELECT event_id FROM lakehouse.silver.orders WHERE user_id = '${user_id}'
  UNION ALL SELECT event_id FROM lakehouse.silver.payments WHERE user_id = '${user_id}'
  UNION ALL SELECT event_id FROM lakehouse.silver.support_messages WHERE user_id = '${user_id}');
-- Bronze and quarantine keep payloads as received: the person is found by the user_id field inside the
-- payload, read as text so that payloads too broken to parse as JSON are found too, or by the record key.
DELETE FROM lakehouse.bronze.events
WHERE from_utf8(event_key) = '${user_id}'
   OR regexp_like(from_utf8(payload), '"user_id"\s*:\s*"${user_id}"');
DELETE FROM lakehouse.quarantine.events
WHERE from_utf8(event_key) = '${user_id}'
   OR regexp_like(from_utf8(payload), '"user_id"\s*:\s*"${user_id}"');
DELETE FROM lakehouse.silver.page_views WHERE user_id = '${user_id}';
DELETE FROM lakehouse.silver.add_to_carts WHERE user_id = '${user_id}';
DELETE FROM lakehouse.silver.orders WHERE user_id = '${user_id}';
DELETE FROM lakehouse.silver.payments WHERE user_id = '${user_id}';
DELETE FROM lakehouse.silver.support_messages WHERE user_id = '${user_id}';
DELETE FROM lakehouse.gold.sessions WHERE user_id = '${user_id}';
DELETE FROM lakehouse.gold.alerts WHERE user_id = '${user_id}';

-- Erasure of one person from a table of payloads as received (a registry table whose person is "raw
-- payload"): found by the record key, or by the user_id field inside the payload, read as text so that
-- payloads too broken to parse as JSON are found too. ${user_id} has passed the user_id validation rule.
DELETE FROM ${catalog}.${table}
WHERE from_utf8(event_key) = '${user_id}'
   OR regexp_like(from_utf8(payload), '"user_id"\s*:\s*"${user_id}"')

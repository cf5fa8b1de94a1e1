-- Benchmarks only (`--checks passthrough`, into a bench catalog): checked_events without Python, to
-- measure what the UDF costs. Every record with an event_id is taken as valid and stored as received:
-- no validation, no masking, no privacy classification; the columns the sinks read are parsed here
-- in SQL instead (the revenue windows count the first line of each order only). Never use it on real data.
CREATE TEMPORARY VIEW checked_events AS
SELECT
  event_key,
  payload,
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  source_timestamp,
  event_time,
  processing_time,
  CAST(ROW(
    JSON_VALUE(CAST(payload AS STRING), '$.event_id') IS NOT NULL,
    JSON_VALUE(CAST(payload AS STRING), '$.event_type'),
    ARRAY['passthrough: not checked'],
    CAST(payload AS STRING),
    CAST(NULL AS ARRAY<STRING>),
    CAST(NULL AS STRING),
    ARRAY[CONCAT(JSON_VALUE(CAST(payload AS STRING), '$.items[0].category'), '|',
                 CAST(JSON_VALUE(CAST(payload AS STRING), '$.items[0].quantity' RETURNING INT) AS STRING), '|',
                 JSON_VALUE(CAST(payload AS STRING), '$.items[0].unit_price'))],
    JSON_VALUE(CAST(payload AS STRING), '$.event_id'),
    JSON_VALUE(CAST(payload AS STRING), '$.user_id'),
    JSON_VALUE(CAST(payload AS STRING), '$.country'),
    JSON_VALUE(CAST(payload AS STRING), '$.page'),
    JSON_VALUE(CAST(payload AS STRING), '$.session_id'),
    JSON_VALUE(CAST(payload AS STRING), '$.ip_address'),
    JSON_VALUE(CAST(payload AS STRING), '$.user_agent'),
    JSON_VALUE(CAST(payload AS STRING), '$.sku'),
    CAST(JSON_VALUE(CAST(payload AS STRING), '$.quantity' RETURNING INT) AS STRING),
    JSON_VALUE(CAST(payload AS STRING), '$.unit_price'),
    JSON_VALUE(CAST(payload AS STRING), '$.order_id'),
    JSON_QUERY(CAST(payload AS STRING), '$.items'),
    CAST(JSON_VALUE(CAST(payload AS STRING), '$.items.length()' RETURNING INT) AS STRING),
    JSON_VALUE(CAST(payload AS STRING), '$.total'),
    JSON_VALUE(CAST(payload AS STRING), '$.currency'),
    JSON_VALUE(CAST(payload AS STRING), '$.email'),
    JSON_VALUE(CAST(payload AS STRING), '$.shipping_name'),
    JSON_VALUE(CAST(payload AS STRING), '$.amount'),
    JSON_VALUE(CAST(payload AS STRING), '$.method'),
    JSON_VALUE(CAST(payload AS STRING), '$.card_number'),
    JSON_VALUE(CAST(payload AS STRING), '$.card_token'),
    JSON_VALUE(CAST(payload AS STRING), '$.channel'),
    JSON_VALUE(CAST(payload AS STRING), '$.message'))
  AS ROW<`valid` BOOLEAN, `event_type` STRING, `failures` ARRAY<STRING>, `record` STRING, `privacy` ARRAY<STRING>,
         `user_token` STRING, `order_lines` ARRAY<STRING>, `event_id` STRING, `user_id` STRING, `country` STRING, `page` STRING, `session_id` STRING, `ip_address` STRING, `user_agent` STRING, `sku` STRING, `quantity` STRING, `unit_price` STRING, `order_id` STRING, `items` STRING, `item_count` STRING, `total` STRING, `currency` STRING, `email` STRING, `shipping_name` STRING, `amount` STRING, `method` STRING, `card_number` STRING, `card_token` STRING, `channel` STRING, `message` STRING>) AS checked
FROM source_events

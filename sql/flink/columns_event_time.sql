-- The event-time columns of every source definition (source_kafka_events.sql,
-- source_pulsar_events.sql), after their physical and metadata columns (the event_time_columns placeholder there).
--
-- event_time is the payload's event time (RFC 3339 in UTC, as the validation rules require), parsed
-- here, not in Python, because the watermark is defined on it; 1970-01-01 when it is missing or
-- unparseable. flowlake_event_time (function_event_time.sql) returns what this does, for any bytes:
--   TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
--     '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$', 1), 'T', ' '))
-- The future bound is in the watermark expression, not in the column. A record whose time is missing, unparseable or more than ${max_future_seconds} s ahead of its
-- source timestamp never moves the watermark: it fails validation and goes to
-- quarantine, but must not drag the watermark days ahead (a far-future time) or to the wall clock
-- while old events are replayed (the source timestamp).
  event_time AS COALESCE(flowlake_event_time(payload), TIMESTAMP '1970-01-01 00:00:00.000'),
  processing_time AS PROCTIME(),
  -- Flink inlines the column's expression into the watermark's (the source's per-partition watermark
  -- generator), so the function runs there too: twice per record.
  -- TIMESTAMPADD, not INTERVAL 'n' SECOND: an interval literal has two digits (SECOND(2)), 100 s or more fails.
  WATERMARK FOR event_time AS IF(
    event_time > TIMESTAMPADD(SECOND, ${max_future_seconds}, CAST(source_timestamp AS TIMESTAMP(3))),
    TIMESTAMP '1970-01-01 00:00:00.000',
    TIMESTAMPADD(SECOND, -${allowed_lateness_seconds}, event_time))

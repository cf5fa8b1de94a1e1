-- What the gold windows aggregate: events ahead of the watermark.
CREATE TEMPORARY VIEW on_time_events AS
SELECT * FROM distinct_events
WHERE `watermark` IS NULL OR event_time > `watermark`

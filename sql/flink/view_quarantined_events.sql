-- The records a replay (flowlake quarantine replay, flink_jobs/replay.py) runs through the rules again:
-- those quarantined since ${since_ms} (epoch ms) that had failed rule ${rule}, with the columns
-- view_checked_events.sql reads from a source. The failures are matched as Flink prints an array
-- ('[<rule id>: <reason>, <rule id>: <reason>]'), by rule id and the colon after it.
CREATE TEMPORARY VIEW source_events AS
SELECT
  event_key,
  payload,
  source_topic,
  source_partition,
  source_offset,
  source_message_id,
  CAST(source_timestamp AS TIMESTAMP_LTZ(3)) AS source_timestamp,
  COALESCE(flowlake_event_time(payload), TIMESTAMP '1970-01-01 00:00:00.000') AS event_time,
  quarantined_at AS processing_time
FROM ${catalog_name}.quarantine.events
WHERE quarantined_at >= TO_TIMESTAMP_LTZ(${since_ms}, 3)
  AND (CAST(failures AS STRING) LIKE '[${rule_pattern}: %' ESCAPE '\'
       OR CAST(failures AS STRING) LIKE '%, ${rule_pattern}: %' ESCAPE '\')

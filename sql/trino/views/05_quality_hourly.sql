-- Data quality per hour of arrival: records received (bronze), quarantined, and the share.
CREATE OR REPLACE VIEW lakehouse.analytics.quality_hourly
COMMENT 'Records received and quarantined per hour of arrival, with the quarantine rate (bronze, quarantine)'
SECURITY DEFINER AS
SELECT
  b.hour,
  b.received,
  coalesce(q.quarantined, 0) AS quarantined,
  round(CAST(coalesce(q.quarantined, 0) AS double) / b.received, 4) AS quarantine_rate
FROM (
  SELECT date_trunc('hour', source_timestamp) AS hour, count(*) AS received
  FROM lakehouse.bronze.events GROUP BY 1
) AS b
LEFT JOIN (
  SELECT date_trunc('hour', source_timestamp) AS hour, count(*) AS quarantined
  FROM lakehouse.quarantine.events GROUP BY 1
) AS q ON q.hour = b.hour

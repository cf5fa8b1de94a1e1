-- The latest result of every table check, for the exporter's metrics (flowlake/exporter.py) and the alert
-- DataQualityCheckFailed.
SELECT check_name, table_name, subject, passed, observed, run_at
FROM ${catalog}.analytics.quality_status

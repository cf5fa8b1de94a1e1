-- The latest run of every table check (flowlake check, iceberg/quality.toml): one row per check and
-- subject, passed or not, with what was observed against which threshold at which snapshot. A check that
-- has not run for 7 days (taken out of the file) drops out. The exporter reads this view for the metrics
-- behind the alert DataQualityCheckFailed.
CREATE OR REPLACE VIEW lakehouse.analytics.quality_status
COMMENT 'Latest result of every table check: passed or not, observed value, threshold, snapshot (quality.check_results)'
SECURITY DEFINER AS
SELECT check_name, kind, table_name, subject, passed, observed, threshold, details, snapshot_id, checked_at,
       run_at, run_id
FROM (
  SELECT r.*, rank() OVER (PARTITION BY check_name ORDER BY run_at DESC, run_id DESC) AS recency
  FROM lakehouse.quality.check_results r
  WHERE run_at > current_timestamp - INTERVAL '7' DAY
)
WHERE recency = 1

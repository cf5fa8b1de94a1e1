-- Data quality: quarantined records per validation rule and day, without the raw payloads (the
-- quarantine table holds raw PII; this view shows only rule ids and counts). A record that failed
-- several rules counts once per rule.
CREATE OR REPLACE VIEW lakehouse.analytics.quality_by_rule
COMMENT 'Quarantined records per day and validation rule, no payloads (quarantine.events)'
SECURITY DEFINER AS
SELECT
  CAST(q.source_timestamp AS date) AS day,
  split_part(failure, ':', 1) AS rule,
  count(*) AS failures
FROM lakehouse.quarantine.events AS q
CROSS JOIN UNNEST(q.failures) AS f (failure)
GROUP BY 1, 2

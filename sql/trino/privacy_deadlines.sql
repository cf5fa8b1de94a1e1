-- Open and overdue privacy requests per intent, for the exporter's metrics (flowlake/exporter.py) and the
-- alert PrivacyRequestOverdue.
SELECT intent, count(*) AS open_requests, count_if(due_by < current_timestamp) AS overdue,
       min(due_by) AS oldest_due
FROM ${catalog}.gold.privacy_requests
WHERE status = 'OPEN'
GROUP BY intent

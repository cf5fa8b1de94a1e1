-- Rows per window of the time column (flowlake check, kind volume): bucket 0 is the window checked, the
-- ones after it the baseline windows before it, newest first (a window is [start, end): a row at the very
-- start of the window checked is in it). A group or bucket without rows has no row.
SELECT ${groups} (date_diff('millisecond', ${time_column}, ${at}) - 1) / ${window_ms} AS bucket,
       count(*) AS row_count
FROM ${table}
WHERE ${time_column} < ${at} AND ${time_column} >= ${at} - INTERVAL '${span_seconds}' SECOND AND (${where})
GROUP BY ${group_by}

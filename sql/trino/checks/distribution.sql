-- Rows per value in the window checked (is_current) and in the reference period before it (flowlake check,
-- kind distribution: population stability index of the two). Nulls are a value of their own.
SELECT ${time_column} >= ${at} - INTERVAL '${window_seconds}' SECOND AS is_current,
       coalesce(CAST(${column} AS varchar), '<null>') AS value, count(*) AS row_count
FROM ${table}
WHERE ${time_column} < ${at} AND ${time_column} >= ${at} - INTERVAL '${span_seconds}' SECOND AND (${where})
GROUP BY 1, 2

-- Rows and distinct values per column in the window (flowlake check, kind distinct).
SELECT count(*) AS row_count, ${distinct_counts}
FROM ${table}
WHERE ${window} AND (${where})

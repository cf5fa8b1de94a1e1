-- Rows and null values per column in the window (flowlake check, kind nulls).
SELECT count(*) AS row_count, ${null_counts}
FROM ${table}
WHERE ${window} AND (${where})

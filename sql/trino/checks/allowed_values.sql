-- Rows, and rows whose value is not null and outside the allowed set (flowlake check, kind allowed_values).
SELECT count(*) AS row_count, count_if(${column} IS NOT NULL AND CAST(${column} AS varchar) NOT IN (${values})) AS outside
FROM ${table}
WHERE ${window} AND (${where})

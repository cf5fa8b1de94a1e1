-- The newest row's time, up to the time checked (flowlake check, kind freshness).
SELECT max(${time_column}) AS newest
FROM ${table}
WHERE ${time_column} <= ${at} AND (${where})

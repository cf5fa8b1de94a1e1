-- Rows of the table whose key has no row in the parent table within `within` of their own time
-- (flowlake check, kind referential). Rows younger than `within` are not judged yet: their parent may
-- still come.
WITH children AS (
  SELECT ${column} AS k, ${time_column} AS t
  FROM ${table}
  WHERE ${time_column} < ${at} - INTERVAL '${within_seconds}' SECOND
    AND ${time_column} >= ${at} - INTERVAL '${span_seconds}' SECOND AND (${where})
),
parents AS (
  SELECT ${parent_column} AS k, min(${parent_time_column}) AS first_seen, max(${parent_time_column}) AS last_seen
  FROM ${parent_table}
  WHERE ${parent_time_column} >= ${at} - INTERVAL '${parent_span_seconds}' SECOND AND ${parent_time_column} < ${at}
  GROUP BY 1
)
SELECT count(*) AS row_count,
       count_if(p.k IS NULL OR p.first_seen > c.t + INTERVAL '${within_seconds}' SECOND
                OR p.last_seen < c.t - INTERVAL '${within_seconds}' SECOND) AS orphans
FROM children c LEFT JOIN parents p ON p.k = c.k

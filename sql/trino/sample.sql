-- A stratified sample (flowlake sample, flowlake/sample.py): in each stratum (each combination of the
-- values of ${strata}) the rows whose keyed hash of content and seed is smallest, as many as the stratum
-- takes (a fraction of it, a number, or with balance the smallest stratum's take for every stratum).
-- The same seed at the same snapshot gives the same rows.
WITH ranked AS (
  SELECT ${columns},
         row_number() OVER (PARTITION BY ${strata} ORDER BY xxhash64(to_utf8(${seed} || ${row_text}))) AS sample_rank,
         count(*) OVER (PARTITION BY ${strata}) AS stratum_rows
  FROM ${source}
  WHERE ${where}
),
own AS (
  SELECT *, ${take} AS own_take FROM ranked
),
sized AS (
  SELECT *, ${stratum_take} AS stratum_take FROM own
)
SELECT ${columns}, stratum_rows, stratum_take
FROM sized
WHERE sample_rank <= stratum_take
ORDER BY ${strata}, sample_rank

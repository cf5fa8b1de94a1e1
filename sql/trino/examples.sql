-- Queries for SQL users and operators: time travel and the Iceberg metadata tables. ${snapshot_id}
-- and ${timestamp} stand for a snapshot id and a point in time of your choice (from the first query).

-- $snapshots: every commit of the table that is still retained. For an operator: how often the
-- streaming job commits (one snapshot per checkpoint that brought data), which Flink job and
-- checkpoint wrote each one (summary['flink.job-id'], summary['flink.max-committed-checkpoint-id']),
-- and what compaction replaced ('replace' operations).
SELECT snapshot_id, committed_at, operation, element_at(summary, 'added-records') AS added_records,
  element_at(summary, 'flink.max-committed-checkpoint-id') AS flink_checkpoint
FROM lakehouse.silver."orders$snapshots" ORDER BY committed_at DESC LIMIT 20;

-- $history: which snapshot was current when, and whether it was an ancestor of the current one
-- (a rollback leaves non-ancestors). The timeline that FOR TIMESTAMP AS OF reads.
SELECT made_current_at, snapshot_id, parent_id, is_current_ancestor
FROM lakehouse.silver."orders$history" ORDER BY made_current_at DESC LIMIT 20;

-- $files: the data files of the current snapshot, with sizes and row counts. Many small files in a
-- partition mean compaction is due (`flowlake maintain`).
SELECT file_path, record_count, file_size_in_bytes FROM lakehouse.silver."orders$files"
ORDER BY file_size_in_bytes LIMIT 20;

-- $partitions: rows, files and bytes per partition: where the data is and how fragmented.
SELECT partition, record_count, file_count, total_size FROM lakehouse.silver."orders$partitions";

-- Time travel by snapshot: the table exactly as that commit left it (reproducible reports, or what
-- a downstream job saw).
SELECT count(*) AS orders, sum(total) AS total FROM lakehouse.silver.orders FOR VERSION AS OF ${snapshot_id};

-- Time travel by time: the table as it was at that moment (the snapshot current then).
SELECT count(*) AS orders FROM lakehouse.silver.orders FOR TIMESTAMP AS OF TIMESTAMP '${timestamp}';

-- What changed between two points: orders present now that were not at ${snapshot_id}.
SELECT count(*) AS new_orders FROM (
  SELECT event_id FROM lakehouse.silver.orders
  EXCEPT
  SELECT event_id FROM lakehouse.silver.orders FOR VERSION AS OF ${snapshot_id}
);

-- Table maintenance from Trino: the analyst-side alternative to `flowlake maintain` (a batch Flink
-- job with the policy of iceberg/maintenance.toml). Run as a user allowed to write the table. The
-- same safety rules apply: never expire the snapshot a running Flink writer last committed (keep
-- the retention above the writer's commit age: minutes for the streaming jobs, longer for a job
-- stopped with a savepoint), never remove orphans younger than the longest checkpoint interval
-- times several. Trino does not know the Flink writers; flowlake maintain does.

-- Compaction: rewrite files smaller than the threshold into files of the table's target size,
-- here only today's partitions of bronze (a WHERE on partition columns only).
ALTER TABLE lakehouse.bronze.events EXECUTE optimize(file_size_threshold => '64MB')
WHERE source_timestamp >= current_date;

-- Snapshot expiry: keep a week of history (time travel reaches back that far). Trino refuses a
-- retention below iceberg.expire-snapshots.min-retention (7 days by default) unless the catalog lowers it.
ALTER TABLE lakehouse.bronze.events EXECUTE expire_snapshots(retention_threshold => '7d');

-- Orphan files: files under the table's location that no snapshot references, older than the
-- threshold (same minimum as above: iceberg.remove-orphan-files.min-retention).
ALTER TABLE lakehouse.bronze.events EXECUTE remove_orphan_files(retention_threshold => '7d');

-- Manifests: merge small manifests (Trino 476).
ALTER TABLE lakehouse.bronze.events EXECUTE optimize_manifests;

-- What to look at before and after: files per partition and snapshots.
SELECT partition, file_count, total_size FROM lakehouse.bronze."events$partitions" ORDER BY file_count DESC;
SELECT committed_at, operation, element_at(summary, 'added-data-files') AS added,
  element_at(summary, 'deleted-data-files') AS deleted
FROM lakehouse.bronze."events$snapshots" ORDER BY committed_at DESC LIMIT 20;

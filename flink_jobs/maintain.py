"""Table maintenance, a batch Flink job: per table, retention (the day partitions older than the policy's
retention_days deleted, from the metadata alone), data-file compaction (Iceberg's Flink RowDataRewriter, a
Flink batch job on the cluster, applying position and equality deletes; the delete files it leaves without
a data file to apply to are dropped), snapshot expiry, orphan-file
removal and manifest rewrite, through the Iceberg Java API on PyFlink's gateway. Safe beside the
streaming writers: the snapshot each running Flink writer last committed is never expired, orphans
younger than the policy's age are kept, and a commit that loses to a concurrent one is retried.

Prints one line per table, `MAINTENANCE_REPORT {json}`, which `flowlake maintain` reads."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import common_arguments, file_io_options, parse
from flink_jobs.registry import TERMINAL_STATES
from iceberg import registry
from iceberg.maintenance import (
    POLICY_FILE,
    ListedFile,
    MaintenancePolicy,
    SnapshotInfo,
    expire_before_ms,
    load_policies,
    partitions_to_compact,
    retention_cutoff,
    select_orphans,
    writers_last_snapshots,
)

REPORT_PREFIX = "MAINTENANCE_REPORT "
COMMIT_ATTEMPTS = 4
log = logging.getLogger("flowlake.maintain")
T = TypeVar("T")


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "maintain")
    parser.add_argument("--plan", default=None,
                        help='JSON list of {"table": "<namespace>.<name>", "policy": {...}} (flowlake maintain); '
                             "without it, --tables with the policies of --policy-file")
    parser.add_argument("--tables", default="",
                        help="comma-separated tables, with --policy-file (default: every table of the lakehouse, "
                             "iceberg/registry.py)")
    parser.add_argument("--policy-file", default=str(POLICY_FILE))
    parser.add_argument("--running-jobs", default=None,
                        help="comma-separated ids of the Flink jobs running now: their writers' last snapshots stay")
    parser.add_argument("--flink-rest-url", default=None,
                        help="where to ask for the running jobs when --running-jobs is not given (a CronJob); "
                             "comma-separated when the writers run on several clusters (one per job on Kubernetes)")
    parser.add_argument("--steps", default="retention,compact,expire,orphans,manifests")
    return parser


def java_iterator(iterable: Any) -> Iterator[Any]:
    """The elements of a Java Iterable (py4j turns Java collections into Python ones already)."""
    if not hasattr(iterable, "iterator"):
        yield from iterable
        return
    from py4j.java_gateway import get_method

    iterator = iterable.iterator()
    next_element = get_method(iterator, "next")  # py4j's own next() turns any Java exception into StopIteration
    while iterator.hasNext():
        yield next_element()


def with_retries(what: str, action: Callable[[], T]) -> T:
    """Retry an Iceberg commit that lost to a concurrent one (the streaming writer commits every
    checkpoint). Iceberg retries plain conflicts itself (commit.retry.num-retries); this covers the
    validation failures that need the whole operation planned again."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return action()
        except Exception as error:  # py4j's Py4JJavaError, holding the Java exception
            text = str(error)
            retriable = "CommitFailedException" in text or "ValidationException" in text
            if not retriable or attempt == COMMIT_ATTEMPTS:
                raise
            log.warning("%s: commit conflict (attempt %d/%d), retrying: %s", what, attempt, COMMIT_ATTEMPTS,
                        text.splitlines()[0][:300])
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


class Maintenance:
    def __init__(self, args: argparse.Namespace) -> None:
        import os

        from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
        from pyflink.java_gateway import get_gateway

        self.jvm = get_gateway().jvm
        env = StreamExecutionEnvironment.get_execution_environment()
        env.set_runtime_mode(RuntimeExecutionMode.BATCH)
        self.j_env = env._j_stream_execution_environment
        properties = self.jvm.java.util.HashMap()
        for key, value in {"uri": args.catalog_jdbc_url, "jdbc.user": args.catalog_user,
                           "jdbc.password": os.environ.get("FLOWLAKE_CATALOG_PASSWORD", "flowlake"),
                           "jdbc.schema-version": "V1", "warehouse": args.warehouse,
                           **file_io_options(args)}.items():
            properties.put(key, value)
        loader = self.jvm.org.apache.iceberg.flink.CatalogLoader.custom(
            args.catalog_name, properties, self.jvm.org.apache.hadoop.conf.Configuration(),
            "org.apache.iceberg.jdbc.JdbcCatalog")
        self.catalog = loader.loadCatalog()
        self.running_jobs = running_jobs(args)

    def table(self, identifier: str) -> Any:
        return self.catalog.loadTable(self.jvm.org.apache.iceberg.catalog.TableIdentifier.parse(identifier))

    # --- what a table holds ---------------------------------------------------------------------

    def data_files(self, table: Any) -> list[tuple[str, str, int]]:
        """(partition path, file location, size) of every data file of the current snapshot."""
        spec_of = {s.specId(): s for s in java_iterator(table.specs().values())}
        files = []
        with_tasks = table.newScan().planFiles()
        try:
            for task in java_iterator(with_tasks):
                data_file = task.file()
                spec = spec_of[data_file.specId()]
                files.append((spec.partitionToPath(data_file.partition()), data_file.location(),
                              data_file.fileSizeInBytes()))
        finally:
            with_tasks.close()
        return files

    def snapshots(self, table: Any) -> list[SnapshotInfo]:
        return [SnapshotInfo(s.snapshotId(), s.timestampMillis(), s.summary().get("flink.job-id"),
                             s.summary().get("flink.operator-id")) for s in java_iterator(table.snapshots())]

    def manifests(self, table: Any) -> int:
        snapshot = table.currentSnapshot()
        return 0 if snapshot is None else snapshot.allManifests(table.io()).size()

    # --- the four steps ---------------------------------------------------------------------------

    def retention(self, identifier: str, policy: MaintenancePolicy, report: dict[str, Any]) -> None:
        """Delete the day partitions older than the retention: whole data files, a metadata-only commit.
        The files leave the disk when the snapshots before this one expire (the expire step)."""
        cutoff = retention_cutoff(policy, datetime.now(UTC))
        report.update(retention_rows_removed=0, retention_files_removed=0)
        if cutoff is None:
            return
        partition = registry.by_identifier(identifier).partition
        if partition is None:
            raise ValueError(f"retention_days needs a table partitioned by day; {identifier} is not")
        expressions = self.jvm.org.apache.iceberg.expressions.Expressions
        older = expressions.lessThan(partition[0], cutoff.isoformat())
        report["retention_cutoff"] = cutoff.isoformat()

        def run() -> tuple[int, int]:
            table = self.table(identifier)
            tasks = table.newScan().filter(older).planFiles()
            try:
                anything_older = any(True for _ in java_iterator(tasks))
            finally:
                tasks.close()
            if not anything_older:
                return 0, 0
            table.newDelete().deleteFromRowFilter(older).commit()
            summary = table.currentSnapshot().summary()  # this commit's: the table object holds what it committed
            return (int(summary.getOrDefault("deleted-records", "0")),
                    int(summary.getOrDefault("deleted-data-files", "0")))

        rows, files = with_retries(f"retention of {identifier}", run)
        report.update(retention_rows_removed=rows, retention_files_removed=files)

    def delete_files(self, table: Any) -> dict[str, Any]:
        """Location -> DeleteFile of every live delete file (position and equality) of the current snapshot."""
        snapshot = table.currentSnapshot()
        if snapshot is None:
            return {}
        files = self.jvm.org.apache.iceberg.ManifestFiles
        live = {}
        for manifest in java_iterator(snapshot.deleteManifests(table.io())):
            reader = files.readDeleteManifest(manifest, table.io(), table.specs())
            try:
                live.update((f.location(), f.copy()) for f in java_iterator(reader))
            finally:
                reader.close()
        return live

    def compact(self, identifier: str, policy: MaintenancePolicy, report: dict[str, Any]) -> None:
        """Rewrite the data files of the partitions with many files or with delete files, deletes applied;
        then drop the delete files that no longer apply to any data file."""
        table = self.table(identifier)
        files = self.data_files(table)
        deletes = self.delete_files(table)
        spec_of = {s.specId(): s for s in java_iterator(table.specs().values())}
        with_deletes = frozenset(spec_of[f.specId()].partitionToPath(f.partition()) for f in deletes.values())
        per_partition = Counter(partition for partition, _, _ in files)
        days = {p: _partition_day(p) for p in per_partition}
        chosen = partitions_to_compact(per_partition, policy, days, datetime.now(UTC), with_deletes)
        report.update(data_files_before=len(files), bytes_before=sum(size for _, _, size in files),
                      delete_files_before=len(deletes), partitions=len(per_partition),
                      partitions_compacted=len(chosen),
                      max_files_per_partition_before=max(per_partition.values(), default=0))
        rewritten, added = (with_retries(f"compaction of {identifier}",
                                         lambda: self.rewrite(identifier, chosen, policy.target_file_size_bytes))
                            if chosen else (0, 0))
        report.update(files_rewritten=rewritten, files_added=added)
        removed = with_retries(f"removal of applied delete files of {identifier}",
                               lambda: self.remove_applied_deletes(identifier)) if deletes else 0
        after = self.data_files(self.table(identifier))
        counts = Counter(partition for partition, _, _ in after)
        report.update(data_files_after=len(after), bytes_after=sum(size for _, _, size in after),
                      delete_files_removed=removed, delete_files_after=len(self.delete_files(self.table(identifier))),
                      max_files_per_partition_after=max(counts.values(), default=0))

    def rewrite(self, identifier: str, partitions: list[str], target_size: int) -> tuple[int, int]:
        """Iceberg's Flink rewrite (RowDataRewriter, a Flink batch job on the cluster) over whole files, bin-packed
        per partition: a partition's files are rewritten if there are several or if deletes apply to them (the
        legacy Actions.rewriteDataFiles leaves a lone file alone, its deletes included). The new files take the
        starting snapshot's sequence number, so equality deletes a streaming writer commits meanwhile still apply
        to them and the commit does not conflict. Returns (files rewritten, files added)."""
        jvm = self.jvm
        table = self.table(identifier)
        start = table.currentSnapshot()
        scan = table.newScan().useSnapshot(start.snapshotId()).ignoreResiduals()
        condition = self._partitions_filter(table, partitions)
        if condition is not None:
            scan = scan.filter(condition)
        spec_of = {s.specId(): s for s in java_iterator(table.specs().values())}
        groups: dict[str, Any] = {}
        tasks = scan.planFiles()
        try:
            for task in java_iterator(tasks):
                partition = spec_of[task.file().specId()].partitionToPath(task.file().partition())
                if partition in partitions:
                    groups.setdefault(partition, jvm.java.util.ArrayList()).add(task)
        finally:
            tasks.close()
        # No open-file cost: with Iceberg's 4 MB per file, a partition of many small files was planned as
        # several groups of "128 MB" and rewritten into several files.
        chosen = jvm.java.util.ArrayList()
        for group in groups.values():
            closeable = jvm.org.apache.iceberg.io.CloseableIterable
            # combine(), not withNoopClose(): py4j would pick its one-element overload for the list
            planned = jvm.org.apache.iceberg.util.TableScanUtil.planTasks(
                closeable.combine(group, closeable.empty()), target_size, 10, 1)
            for combined in java_iterator(planned):
                members = list(java_iterator(combined.files()))
                if len(members) > 1 or any(not member.deletes().isEmpty() for member in members):
                    chosen.add(combined)
        if chosen.isEmpty():
            return 0, 0
        rewriter = jvm.org.apache.iceberg.flink.source.RowDataRewriter(table, True, table.io(), table.encryption())
        added = rewriter.rewriteDataForTasks(self.j_env.fromData(chosen),
                                             min(chosen.size(), self.j_env.getParallelism()))
        replaced = [task.file() for combined in java_iterator(chosen) for task in java_iterator(combined.files())]
        commit = (table.newRewrite().validateFromSnapshot(start.snapshotId())
                  .dataSequenceNumber(start.sequenceNumber()))
        for data_file in replaced:
            commit.deleteFile(data_file)
        for data_file in java_iterator(added):
            commit.addFile(data_file)
        commit.commit()
        return len(replaced), added.size()

    def remove_applied_deletes(self, identifier: str) -> int:
        """Drop the delete files that apply to no live data file any more (their rows were rewritten away,
        or the data they deleted is gone): what Iceberg's own scan planning pairs with no data file."""
        table = self.table(identifier)
        live = self.delete_files(table)
        tasks = table.newScan().planFiles()
        try:
            applying = {d.location() for task in java_iterator(tasks) for d in java_iterator(task.deletes())}
        finally:
            tasks.close()
        applied = [f for location, f in live.items() if location not in applying]
        if applied:
            commit = table.newRewrite()
            for delete_file in applied:
                commit.deleteFile(delete_file)
            commit.commit()
        return len(applied)

    def _partitions_filter(self, table: Any, partitions: list[str]) -> Any:
        """An Iceberg expression selecting the chosen partitions: day and identity partitions of the
        current spec; None (every partition) for any other layout."""
        expressions = self.jvm.org.apache.iceberg.expressions.Expressions
        spec = table.spec()
        fields = list(java_iterator(spec.fields()))
        if len(fields) != 1:
            return None
        field = fields[0]
        column = table.schema().findColumnName(field.sourceId())
        transform = field.transform().toString()
        combined = None
        for partition in partitions:
            value = partition.split("=", 1)[1] if "=" in partition else partition
            if transform == "day":
                start = datetime.fromisoformat(value).replace(tzinfo=UTC)
                end = start + timedelta(days=1)
                condition = getattr(expressions, "and")(  # `and` is a Python keyword
                    expressions.greaterThanOrEqual(column, start.isoformat()),
                    expressions.lessThan(column, end.isoformat()))
            elif transform == "identity":
                condition = expressions.equal(column, value)
            else:
                return None
            combined = condition if combined is None else getattr(expressions, "or")(combined, condition)
        return combined

    def expire(self, identifier: str, policy: MaintenancePolicy, report: dict[str, Any]) -> None:
        def run() -> tuple[int, int, int]:
            table = self.table(identifier)
            snapshots = self.snapshots(table)
            protected = writers_last_snapshots(snapshots, self.running_jobs)
            cutoff = expire_before_ms(snapshots, policy, datetime.now(UTC), protected.values())
            (table.expireSnapshots().expireOlderThan(cutoff).retainLast(policy.min_snapshots_to_keep)
             .cleanExpiredFiles(True).commit())
            return len(snapshots), len(self.snapshots(self.table(identifier))), len(protected)

        before, after, protected = with_retries(f"snapshot expiry of {identifier}", run)
        report.update(snapshots_before=before, snapshots_after=after, snapshots_expired=before - after,
                      writer_snapshots_kept=protected)

    def orphans(self, identifier: str, policy: MaintenancePolicy, report: dict[str, Any]) -> None:
        table = self.table(identifier)
        util = self.jvm.org.apache.iceberg.ReachableFileUtil
        reachable = set(java_iterator(util.metadataFileLocations(table, True)))
        reachable.add(util.versionHintLocation(table))
        reachable.update(java_iterator(util.manifestListLocations(table)))
        reachable.update(java_iterator(util.statisticsFilesLocations(table)))
        io = table.io()
        seen_manifests: set[str] = set()
        for snapshot in java_iterator(table.snapshots()):
            for manifest in java_iterator(snapshot.allManifests(io)):
                path = manifest.path()
                if path in seen_manifests:
                    continue
                seen_manifests.add(path)
                files = self.jvm.org.apache.iceberg.ManifestFiles
                reader = (files.read(manifest, io) if manifest.content().toString() == "DATA"
                          else files.readDeleteManifest(manifest, io, None))
                try:
                    reachable.update(f.location() for f in java_iterator(reader))
                finally:
                    reader.close()
        reachable.update(seen_manifests)
        listed = [ListedFile(info.location(), info.size(), info.createdAtMillis())
                  for info in java_iterator(io.listPrefix(table.location()))]
        orphans = select_orphans(listed, reachable, policy, datetime.now(UTC))
        for orphan in orphans:
            io.deleteFile(orphan.location)
        report.update(files_listed=len(listed), orphans_removed=len(orphans),
                      orphan_bytes_removed=sum(o.size for o in orphans))

    def rewrite_manifests(self, identifier: str, policy: MaintenancePolicy, report: dict[str, Any]) -> None:
        table = self.table(identifier)
        before = self.manifests(table)
        if before > policy.rewrite_manifests_above:
            # One cluster for all data files: small manifests merge into ones of the table's
            # commit.manifest.target-size-bytes. A Java function from Flink's shaded Guava (Iceberg's
            # relocated copy leaves Functions out), not a Python callback per data file.
            constant = self.jvm.org.apache.flink.shaded.guava31.com.google.common.base.Functions.constant("all")
            with_retries(f"manifest rewrite of {identifier}",
                         lambda: self.table(identifier).rewriteManifests().clusterBy(constant).commit())
        report.update(manifests_before=before, manifests_after=self.manifests(self.table(identifier)))


def running_jobs(args: argparse.Namespace) -> set[str]:
    if args.running_jobs is not None:
        return {j for j in args.running_jobs.split(",") if j}
    if not args.flink_rest_url:
        raise SystemExit("give --running-jobs or --flink-rest-url: the snapshots of running writers must be known")
    import urllib.request

    running = set()
    for url in filter(None, args.flink_rest_url.split(",")):
        with urllib.request.urlopen(f"{url.strip().rstrip('/')}/jobs/overview", timeout=30) as response:
            jobs = json.load(response)["jobs"]
        running |= {job["jid"] for job in jobs if job["state"] not in TERMINAL_STATES}
    return running


def plan(args: argparse.Namespace) -> list[tuple[str, MaintenancePolicy]]:
    if args.plan:
        return [(item["table"], MaintenancePolicy.from_json(item["policy"])) for item in json.loads(args.plan)]
    default, tables = load_policies(Path(args.policy_file))
    known = [table.identifier for table in registry.TABLES]
    names = [t for t in args.tables.split(",") if t] or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"unknown tables {unknown}: choose from {', '.join(known)}")
    return [(name, tables.get(name, default)) for name in names]


def _partition_day(partition: str) -> datetime | None:
    value = partition.split("=", 1)[1] if "=" in partition else partition
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


STEPS = {"retention": Maintenance.retention, "compact": Maintenance.compact, "expire": Maintenance.expire,
         "orphans": Maintenance.orphans, "manifests": Maintenance.rewrite_manifests}


def main() -> None:
    args = parse(arguments())
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}: choose from {sorted(STEPS)}")
    work = plan(args)
    maintenance = Maintenance(args)
    failed = False
    for identifier, policy in work:
        report: dict[str, Any] = {"table": identifier, "started_at": datetime.now(UTC).isoformat()}
        started = time.monotonic()
        for step in steps:
            step_started = time.monotonic()
            try:
                STEPS[step](maintenance, identifier, policy, report)
            except Exception as error:  # one table's failure must not stop the others
                failed = True
                report.setdefault("errors", []).append(f"{step}: {str(error).splitlines()[0][:500]}")
                log.exception("%s of %s failed", step, identifier)
            report[f"{step}_seconds"] = round(time.monotonic() - step_started, 3)
        report["seconds"] = round(time.monotonic() - started, 3)
        print(REPORT_PREFIX + json.dumps(report, sort_keys=True), flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

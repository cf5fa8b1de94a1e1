"""Maintenance (flink_jobs/maintain.py through `flowlake maintain`) beside the running medallion job,
on real Flink, Iceberg and Trino: compaction leaves the data identical and the writer healthy,
expiry keeps the writer's last snapshot and time travel to it, orphans go only when old enough.

Runs after test_medallion (same streaming job, its exact checks done) and before the Pulsar tests."""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka import Producer

from flowlake.catalog import load_catalog
from flowlake.clients.flink import FlinkRest
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.generate import generate
from flowlake.kafka_security import client_config
from flowlake.maintain import history_file, run_once, schedule
from tests.promql import rules, series_parts

from .conftest import IngestJob, wait_until
from .lakehouse import background_page_views, page_view

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TABLES = ["bronze.events", "silver.page_views", "gold.funnel_hourly"]


def q(settings: Settings, sql: str) -> list[list[Any]]:
    return query(settings, sql)[1]


def policy_file(tmp_path: Path, **values: object) -> Path:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.toml"
    settings = {"schedule": "* * * * *", "target_file_size_mb": 64, "min_input_files": 2, **values}
    lines = ["[default]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def produce_in_commits(settings: Settings, job: IngestJob, batches: int, per_batch: int) -> None:
    """Small batches, each waited for in bronze: one small file per partition and checkpoint."""
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for _ in range(batches):
        before = bronze_count(settings)
        for _ in range(per_batch):
            event = page_view(job.clock(), "U00004", "/maintenance")
            producer.produce(job.topic, key=b"U00004", value=json.dumps(event).encode())
        assert producer.flush(30) == 0
        wait_until(lambda b=before: bronze_count(settings) >= b + per_batch, timeout=120, interval=1,
                   what="a batch in bronze")


def bronze_count(settings: Settings) -> int:
    return int(q(settings, "SELECT count(*) FROM lakehouse.bronze.events")[0][0])


CHECKSUMS = {
    "bronze.events": "SELECT count(*), count(DISTINCT (source_partition, source_offset)), sum(length(payload)), "
                     "sum(source_offset) FROM lakehouse.bronze.events",
    "silver.page_views": "SELECT count(*), count(DISTINCT event_id), sum(length(page) + length(user_id)), "
                         "max(event_time) FROM lakehouse.silver.page_views",
    "gold.funnel_hourly": "SELECT count(*), sum(page_views), sum(visitors), min(window_start) "
                          "FROM lakehouse.gold.funnel_hourly",
}


def files_per_partition(settings: Settings, table: str) -> dict[str, tuple[int, int]]:
    """Partition -> (data files, bytes), from Trino's $partitions metadata table."""
    namespace, name = table.split(".")
    rows = q(settings, f'SELECT json_format(CAST(partition AS json)), file_count, total_size '
                       f'FROM lakehouse.{namespace}."{name}$partitions"')
    return {r[0]: (r[1], r[2]) for r in rows}


def failed_checkpoints(settings: Settings, job_id: str) -> int:
    return int(FlinkRest(settings).checkpoints(job_id)["counts"]["failed"])


def test_compaction_beside_the_streaming_job_keeps_every_row(local_stack: Settings, ingest_job: IngestJob,
                                                              tmp_path: Path) -> None:
    settings, job = local_stack, ingest_job
    produce_in_commits(settings, job, batches=6, per_batch=200)
    time.sleep(2 * settings.checkpoint_interval_seconds)  # silver and gold follow bronze
    before = {table: files_per_partition(settings, table) for table in TABLES}
    assert max(files for files, _ in before["bronze.events"].values()) >= 6  # many small commits
    checksums = {table: q(settings, sql) for table, sql in CHECKSUMS.items()}
    failed = failed_checkpoints(settings, job.job_id)

    policy = policy_file(tmp_path, target_file_size_mb=64)
    reports = {r["table"]: r for r in run_once(settings, TABLES, steps=("compact",), path=policy)}
    assert set(reports) == set(TABLES) and not any(r.get("errors") for r in reports.values())

    for table in TABLES:
        after = files_per_partition(settings, table)
        for partition, (files, size) in after.items():
            # What the target size implies: all of a partition's bytes in as few files as fit.
            assert files <= max(1, math.ceil(size / (64 * 1024 * 1024))) + 1, (table, partition, files)
        assert reports[table]["data_files_after"] <= reports[table]["data_files_before"]
    assert reports["bronze.events"]["files_rewritten"] >= 6
    assert {table: q(settings, sql) for table, sql in CHECKSUMS.items()} == checksums

    # The streaming job kept going: no failed checkpoint, and new events arrive exactly once.
    assert FlinkRest(settings).job(job.job_id)["state"] == "RUNNING"
    assert failed_checkpoints(settings, job.job_id) == failed
    total = bronze_count(settings)
    produce_in_commits(settings, job, batches=1, per_batch=300)
    time.sleep(2 * settings.checkpoint_interval_seconds)
    assert q(settings, CHECKSUMS["bronze.events"])[0][:2] == [total + 300, total + 300]
    assert failed_checkpoints(settings, job.job_id) == failed

    history = [json.loads(line) for line in history_file(settings).read_text().splitlines()]
    assert {r["table"] for r in history} >= set(TABLES)


def test_expiry_keeps_the_writers_last_snapshot_and_time_travel(local_stack: Settings, ingest_job: IngestJob,
                                                                 tmp_path: Path) -> None:
    settings, job = local_stack, ingest_job
    produce_in_commits(settings, job, batches=2, per_batch=100)
    writer_snapshots = q(settings, "SELECT snapshot_id, committed_at FROM lakehouse.bronze.\"events$snapshots\" "
                                   f"WHERE element_at(summary, 'flink.job-id') = '{job.job_id}' "
                                   "ORDER BY committed_at DESC")
    writer_last = writer_snapshots[0][0]
    rows_then = q(settings, f"SELECT count(*) FROM lakehouse.bronze.events FOR VERSION AS OF {writer_last}")
    # A newer snapshot from another committer (the compaction), so that keeping only the newest
    # one would drop the writer's.
    compact = policy_file(tmp_path, min_input_files=2)
    run_once(settings, ["bronze.events"], steps=("compact",), path=compact)
    snapshots_before = q(settings, "SELECT count(*) FROM lakehouse.bronze.\"events$snapshots\"")[0][0]

    policy = policy_file(tmp_path, snapshot_max_age_hours=0.0001, min_snapshots_to_keep=1)
    [report] = run_once(settings, ["bronze.events"], steps=("expire",), path=policy)
    assert not report.get("errors") and report["writer_snapshots_kept"] >= 1
    remaining = {r[0] for r in q(settings, "SELECT snapshot_id FROM lakehouse.bronze.\"events$snapshots\"")}
    current = q(settings, "SELECT snapshot_id FROM lakehouse.bronze.\"events$snapshots\" "
                          "ORDER BY committed_at DESC LIMIT 1")[0][0]
    assert writer_last in remaining and current in remaining
    assert report["snapshots_expired"] == snapshots_before - report["snapshots_after"] > 0
    # Time travel to the retained writer snapshot still reads its rows.
    assert q(settings, f"SELECT count(*) FROM lakehouse.bronze.events FOR VERSION AS OF {writer_last}") == rows_then
    # And the writer goes on committing after its history was cut.
    total = bronze_count(settings)
    produce_in_commits(settings, job, batches=1, per_batch=50)
    assert bronze_count(settings) == total + 50
    assert FlinkRest(settings).job(job.job_id)["state"] == "RUNNING"


def test_orphans_older_than_the_threshold_go_younger_ones_stay(local_stack: Settings, ingest_job: IngestJob,
                                                               tmp_path: Path) -> None:
    settings = local_stack
    table = load_catalog(settings).load_table("silver.page_views")
    data_dir = Path(table.location().removeprefix("file:").replace("///", "/")) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    old, young = (data_dir / f"orphan-{age}-{uuid.uuid4().hex}.parquet" for age in ("old", "young"))
    for orphan in (old, young):
        orphan.write_bytes(b"not referenced by any snapshot")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    rows = q(settings, CHECKSUMS["silver.page_views"])

    policy = policy_file(tmp_path, orphan_min_age_hours=1)
    [report] = run_once(settings, ["silver.page_views"], steps=("orphans",), path=policy)
    assert not report.get("errors")
    assert not old.exists() and young.exists()
    assert report["orphans_removed"] == 1
    assert q(settings, CHECKSUMS["silver.page_views"]) == rows  # no live file was touched
    young.unlink()


def test_retention_deletes_old_partitions_and_their_files_while_the_job_writes(
        local_stack: Settings, ingest_job: IngestJob, tmp_path: Path) -> None:
    """Raw rows received 40 days ago go with a 30-day retention (a metadata-only delete of their day
    partition), the rest of bronze stays as it was, and the expiry that follows removes their files from
    disk; the streaming job keeps writing throughout."""
    import threading

    settings, job = local_stack, ingest_job
    topic = f"it-retention-{uuid.uuid4().hex[:8]}"
    q(settings, f"""
        INSERT INTO lakehouse.bronze.events (event_key, payload, source_topic, source_partition, source_offset,
                                             source_message_id, source_timestamp, ingested_at, headers)
        SELECT to_utf8('U00005'), to_utf8('{{"user_id": "U00005", "n": ' || CAST(n AS varchar) || '}}'), '{topic}', 0,
               n, NULL, current_timestamp - INTERVAL '40' DAY, current_timestamp - INTERVAL '40' DAY, NULL
        FROM UNNEST(sequence(1, 300)) AS t(n)""")
    old_files = {local(p) for (p,) in q(settings, 'SELECT DISTINCT "$path" FROM lakehouse.bronze.events '
                                                  f"WHERE source_topic = '{topic}'")}
    assert old_files and all(path.exists() for path in old_files)
    recent = ("SELECT count(*), checksum(payload), checksum(source_offset) FROM lakehouse.bronze.events "
              "WHERE source_timestamp > current_timestamp - INTERVAL '29' DAY AND ingested_at < {fence}")
    fence = "TIMESTAMP '" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60)) + " UTC'"
    recent_before = q(settings, recent.format(fence=fence))
    failed = failed_checkpoints(settings, job.job_id)

    stop = threading.Event()
    writing = background_page_views(settings, job, stop, [], user_id="U00006", page="/retention")
    try:
        [report] = run_once(settings, ["bronze.events"], steps=("retention",),
                            path=policy_file(tmp_path, retention_days=30))
        assert not report.get("errors"), report
        assert report["retention_rows_removed"] == 300 and report["retention_files_removed"] == len(old_files)
        assert q(settings, f"SELECT count(*) FROM lakehouse.bronze.events WHERE source_topic = '{topic}'") == [[0]]
        assert q(settings, recent.format(fence=fence)) == recent_before
        # The files go when no snapshot reaches them: after the writer has committed past the delete
        # (its last snapshot is never expired), an expiry removes them.
        deleted_at = q(settings, "SELECT max(committed_at) FROM lakehouse.bronze.\"events$snapshots\" "
                                 "WHERE operation = 'delete'")[0][0]
        wait_until(lambda: q(settings, "SELECT count(*) FROM lakehouse.bronze.\"events$snapshots\" "
                                       f"WHERE element_at(summary, 'flink.job-id') = '{job.job_id}' "
                                       f"AND committed_at > TIMESTAMP '{deleted_at:%Y-%m-%d %H:%M:%S.%f} UTC'")[0][0],
                   timeout=120, interval=3, what="a commit of the writer after the retention delete")
        [expired] = run_once(settings, ["bronze.events"], steps=("expire",),
                             path=policy_file(tmp_path, snapshot_max_age_hours=0.0001, min_snapshots_to_keep=1))
        assert not expired.get("errors"), expired
    finally:
        stop.set()
        writing.join()
    assert not [path for path in old_files if path.exists()]
    assert FlinkRest(settings).job(job.job_id)["state"] == "RUNNING"
    assert failed_checkpoints(settings, job.job_id) == failed


def local(uri: str) -> Path:
    from urllib.parse import urlparse

    return Path(urlparse(uri).path)


def test_the_scheduler_runs_on_schedule_and_serves_metrics(local_stack: Settings, ingest_job: IngestJob,
                                                           tmp_path: Path) -> None:
    """One scheduled run (the wait for the next minute skipped), its metrics served and scraped by
    the stack's Prometheus."""
    settings = local_stack
    schedule(settings, ["gold.funnel_hourly"], path=policy_file(tmp_path), sleep=lambda seconds: None, runs=1)
    metrics = requests.get(f"http://{settings.host}:{settings.maintenance_metrics_port}/metrics", timeout=10).text
    assert 'flowlake_maintenance_runs_total{outcome="ok",table="gold.funnel_hourly"} 1.0' in metrics

    def scraped() -> list[Any]:
        response = requests.get(f"{settings.prometheus_url}/api/v1/query",
                                params={"query": "flowlake_maintenance_runs_total"}, timeout=10)
        return list(response.json()["data"]["result"])

    wait_until(scraped, timeout=60, interval=2, what="the maintenance metrics in Prometheus")
    assert 'flowlake_maintenance_runs_total{outcome="error",table="gold.funnel_hourly"} 0.0' in metrics
    # The maintenance alerts' expressions have data to work on (test_observability checks the other alerts'):
    # once a second scrape is in, for increase().
    for rule in rules():
        if rule.get("alert", "").startswith("Maintenance"):
            for part in series_parts(rule["expr"]):
                wait_until(lambda: requests.get(f"{settings.prometheus_url}/api/v1/query", params={"query": part},  # noqa: B023
                                                timeout=10).json()["data"]["result"],
                           timeout=60, interval=2, what=f"data for {rule['alert']}: {part}")


def test_the_documented_trino_maintenance_statements_run(local_stack: Settings) -> None:
    """sql/trino/maintenance.sql, the analyst-side alternative, on a scratch table of the same layout."""
    from flink_jobs.common import split_statements
    from flowlake.config import REPO_ROOT

    settings = local_stack
    schema = f"it_trino_{uuid.uuid4().hex[:8]}"
    q(settings, f"CREATE SCHEMA lakehouse.{schema}")
    try:
        q(settings, f"CREATE TABLE lakehouse.{schema}.events (payload varchar, source_timestamp "
                    "timestamp(6) with time zone) WITH (partitioning = ARRAY['day(source_timestamp)'])")
        for i in range(3):  # three commits, three small files
            q(settings, f"INSERT INTO lakehouse.{schema}.events VALUES ('p{i}', current_timestamp)")
        script = (REPO_ROOT / "sql" / "trino" / "maintenance.sql").read_text()
        statements = split_statements(script.replace("lakehouse.bronze.events", f"lakehouse.{schema}.events")
                                            .replace('lakehouse.bronze."events$', f'lakehouse.{schema}."events$'))
        assert len(statements) == 6
        for statement in statements:
            q(settings, statement)
        assert q(settings, f'SELECT sum(file_count) FROM lakehouse.{schema}."events$partitions"') == [[1]]
        assert q(settings, f"SELECT count(*) FROM lakehouse.{schema}.events") == [[3]]
    finally:
        q(settings, f"DROP TABLE IF EXISTS lakehouse.{schema}.events")
        q(settings, f"DROP SCHEMA lakehouse.{schema}")


def test_the_documented_time_travel_and_metadata_queries_run(local_stack: Settings, ingest_job: IngestJob) -> None:
    """sql/trino/examples.sql on silver.orders: every statement runs, and time travel returns the older
    count after more data arrived."""
    from flink_jobs.common import split_statements
    from flowlake.config import REPO_ROOT

    settings, job = local_stack, ingest_job

    def orders_in_silver() -> int:
        return int(q(settings, "SELECT count(*) FROM lakehouse.silver.orders")[0][0])

    def add_orders(seed: int) -> int:
        """A batch of events, waited for until its orders are all in silver; returns how many."""
        before, batch = orders_in_silver(), []
        generate(settings, 300, None, None, topic=job.topic, seed=seed, clock=job.clock, keep=batch)
        orders = sum(1 for _, payload, _ in batch if json.loads(payload)["event_type"] == "order")
        assert orders > 0
        wait_until(lambda: orders_in_silver() == before + orders, timeout=120, interval=2, what="new orders in silver")
        return orders

    add_orders(seed=21)  # at least one snapshot, whatever ran before
    [[snapshot_id, committed_at]] = q(settings, "SELECT snapshot_id, committed_at "
                                                'FROM lakehouse.silver."orders$snapshots" '
                                                "ORDER BY committed_at DESC LIMIT 1")
    then = orders_in_silver()
    new_orders = add_orders(seed=22)
    at = committed_at.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    script = (REPO_ROOT / "sql" / "trino" / "examples.sql").read_text()
    statements = split_statements(script.replace("${snapshot_id}", str(snapshot_id)).replace("${timestamp}", at))
    assert len(statements) == 7
    results = [q(settings, statement) for statement in statements]
    assert results[4][0][0] == then  # FOR VERSION AS OF: the count before the new orders
    assert results[5] == [[then]]    # FOR TIMESTAMP AS OF the snapshot's commit time
    assert results[6] == [[new_orders]]

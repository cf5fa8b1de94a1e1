"""Exactly once through crashes, while events flow: the TaskManager killed (SIGKILL, its Python workers
with it) three times at random moments and restarted; the JobManager killed and the job resumed from
its newest checkpoint; the Kafka broker killed and restarted on its data. After each, every layer is
exact: bronze holds each produced record once (count and distinct Kafka coordinates), quarantine
exactly the bad ones, silver and the silver topic every valid event once, gold equal to the Python
reference. The cdc job shares the TaskManager kills while the shop database changes: its silver tables then
equal the database row by row and bronze holds each change once.

The job runs on a topic and an event-time range of its own (hours before the other tests' events)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from confluent_kafka import Producer

from flowlake import replication, shop, stack
from flowlake.clients.flink import FlinkRest, latest_checkpoint, resume_point, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.generate import Mix, SteppingClock, generate
from flowlake.kafka_security import client_config
from flowlake.stack.process import ManagedProcess
from flowlake.stack.runtime import Runtime
from flowlake.stack.services import FlinkProcess, Kafka
from iceberg.registry import SILVER_TABLE_OF

from .capture import assert_each_change_once, bronze_changes, wait_for_silver_equal_to_source
from .conftest import IngestJob, assert_each_once, wait_until
from .lakehouse import LATENESS, assert_gold_matches, floor_to, q, read_committed, tick

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.faults]

RATE, SECONDS = 50, 150  # at most 7,500 events while the TaskManager is killed three times
KILLS = 3


@contextmanager
def own_ingest_job(settings: Settings, prefix: str, hours_back: int,
                   extra: tuple[str, ...] = ()) -> Iterator[IngestJob]:
    """The medallion job on a topic and an event-time range of its own; `extra` arguments are for this
    submission only (not kept in `args`, which a resubmission uses)."""
    topic = f"it-{prefix}-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    clock = SteppingClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_back))
    args = ["--topic", topic, "--silver-topic", f"{topic}.silver", "--group-id", f"g-{topic}",
            "--job-name", f"ingest-{topic}", "--allowed-lateness-seconds", str(int(LATENESS.total_seconds())),
            "--idle-timeout-seconds", "0", "--gold-written-until", (clock.start - timedelta(hours=2)).isoformat()]
    job = IngestJob(submit(settings, "ingest", [*args, *extra]), topic, args, clock)
    FlinkRest(settings).wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    try:
        yield job
    finally:
        rest = FlinkRest(settings)
        if rest.job(job.job_id)["state"] not in ("CANCELED", "FAILED", "FINISHED"):
            rest.cancel(job.job_id)
        for name in (topic, f"{topic}.silver"):
            delete_topic(settings, name)


@pytest.fixture(scope="module")
def fault_job(local_stack: Settings) -> Iterator[IngestJob]:
    # The cluster is this module's: a JobManager kill takes every job anyway, and an idle writer of an
    # earlier test would hold back the concurrent snapshot expiry (its newest snapshot, and every one
    # after it, stay for its restore).
    rest = FlinkRest(local_stack)
    for job_id in rest.live_job_ids():
        rest.cancel(job_id)
        rest.wait_for_state(job_id, {"CANCELED"}, timeout=120)
    with own_ingest_job(local_stack, "faults", hours_back=14) as job:
        yield job


@dataclass
class Sent:
    """Everything the module put on the fault job's topic."""

    records: list[tuple[str, bytes, str]] = field(default_factory=list)
    ticks: list[str] = field(default_factory=list)
    # The newest ticks as events (page views at their closing time): they count in the next batch's first hour.
    last_ticks: list[dict[str, Any]] = field(default_factory=list)
    unchecked: bool = False  # a batch was sent and not checked (its test failed before the end)

    def new_batch(self, job: IngestJob) -> datetime:
        """The event time the next batch starts at. After a test that failed before it closed its batch,
        two hours later and without that batch's ticks: its events must not count in this one's gold."""
        if self.unchecked:
            job.clock.start = floor_to(job.clock.start, timedelta(hours=1)) + timedelta(hours=2)
            self.last_ticks = []
        self.unchecked = True
        return job.clock.start


@pytest.fixture(scope="module")
def sent() -> Sent:
    return Sent()


def _latest_checkpoint(rest: FlinkRest, job_id: str) -> int:
    completed = (rest.checkpoints(job_id).get("latest") or {}).get("completed") or {}
    return int(completed.get("id", 0))


def kill_service(settings: Settings, name: str) -> int:
    """SIGKILL a service's process and its children (a TaskManager's Python workers); returns its pid."""
    return ManagedProcess(name, settings.run_dir, settings.log_dir).crash()


def produce_in_background(settings: Settings, job: IngestJob, sent: Sent, seconds: int,
                          stop: threading.Event | None = None) -> threading.Thread:
    """RATE events/s for `seconds` (or until `stop` is set) onto the fault job's topic. The generator's event
    ids follow from its seed, and silver is shared by every test's jobs: a seed far from the small ones other
    tests use keeps this module's ids its own (the Pulsar test's seeds 11 and 12 once gave silver "duplicates")."""
    seed = random.randrange(10**6, 10**9)
    print(f"producing with seed {seed}")
    producer = threading.Thread(target=generate, kwargs=dict(
        settings=settings, count=None, rate=RATE, duration=seconds, topic=job.topic, seed=seed,
        mix=Mix(bad=0.05, duplicates=0.05), clock=job.clock, keep=sent.records, stop=stop))
    producer.start()
    return producer


def assert_every_layer_exact(settings: Settings, job: IngestJob, sent: Sent, batch: list[tuple[str, bytes, str]],
                             start: datetime) -> None:
    """Close the windows of the batch, then: bronze = everything sent once, quarantine = the bad records,
    silver and the silver topic = every valid event once, gold of the batch's hours = the reference."""
    closing = floor_to(job.clock.start, timedelta(hours=1)) + timedelta(hours=1) + 2 * LATENESS
    earlier_ticks = sent.last_ticks
    tick_ids = tick(settings, job, closing)
    sent.ticks += tick_ids
    sent.last_ticks = [{"event_id": i, "event_type": "page_view", "event_time": closing.isoformat(),
                        "user_id": "U00001"} for i in tick_ids]
    job.clock.start = closing + timedelta(seconds=1)
    total = len(sent.records) + len(sent.ticks)

    def bronze() -> list[int]:
        return q(settings, "SELECT count(*), count(DISTINCT (source_partition, source_offset)) "
                           f"FROM lakehouse.bronze.events WHERE source_topic = '{job.topic}'")[0]

    wait_until(lambda: bronze()[0] >= total, timeout=600, interval=5, what=f"{total} rows in bronze")
    time.sleep(2 * settings.checkpoint_interval_seconds)  # a duplicate would show up in the next commits
    assert bronze() == [total, total]

    bad = sorted(payload for _, payload, label in sent.records if label.startswith("bad:"))
    rows = q(settings, f"SELECT payload FROM lakehouse.quarantine.events WHERE source_topic = '{job.topic}'")
    assert sorted(bytes(r[0]) for r in rows) == bad

    expected = {json.loads(payload)["event_id"] for _, payload, label in sent.records if label in ("valid", "late")}
    expected |= set(sent.ticks)

    def silver() -> Counter[str]:
        union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t}" for t in SILVER_TABLE_OF.values())
        return Counter(row[0] for row in q(settings, union) if row[0] in expected)

    ids = wait_until(lambda: (found := silver()) and len(found) >= len(expected) and found, timeout=300,
                     interval=5, what="every valid event in silver")
    assert_each_once(ids, expected, "silver tables")
    published = [json.loads(value) for _, value, _ in read_committed(settings, f"{job.topic}.silver", len(expected))]
    for stray in (e for e in published if e["event_id"] not in expected):  # its bronze record, what the test sent
        sources = q(settings, "SELECT source_partition, source_offset, from_utf8(payload) FROM lakehouse.bronze.events "
                              f"WHERE source_topic = '{job.topic}' AND strpos(from_utf8(payload), "
                              f"'{stray['event_id']}') > 0")
        print("stray in the silver topic:", stray, "bronze:", sources,
              "sent:", [r for r in sent.records if stray["event_id"].encode() in r[1]])
    assert_each_once(Counter(e["event_id"] for e in published), expected, "silver topic")
    on_time = [json.loads(payload) for _, payload, label in batch if label == "valid"] + earlier_ticks
    assert_gold_matches(settings, on_time, start, closing)
    sent.unchecked = False


def maintain_in_background(settings: Settings, stop: threading.Event, done: list[str]) -> threading.Thread:
    """Compaction (Trino's optimize) and snapshot expiry on the tables the job writes, over and over until
    stopped, by the maintenance safety rule: every snapshot older than the newest one of each running
    Flink writer is expired, never that one (a restored writer looks for it)."""
    from flowlake.catalog import load_catalog
    from flowlake.clients.trino import query
    from iceberg.expiry import expire, snapshot_infos
    from iceberg.maintenance import writers_last_snapshots

    catalog = load_catalog(settings)

    def run() -> None:
        while not stop.is_set():
            for table in ("bronze.events", "silver.orders", "silver.page_views"):
                try:
                    query(settings, f"ALTER TABLE lakehouse.{table} EXECUTE optimize")
                    current = catalog.load_table(table)
                    infos = snapshot_infos(current)
                    protected = writers_last_snapshots(infos, FlinkRest(settings).live_job_ids())
                    # No running writer has committed to it yet: everything before the current snapshot goes.
                    keep_from = min((s.timestamp_ms for s in infos if s.snapshot_id in protected.values()),
                                    default=current.current_snapshot().timestamp_ms)
                    expired, _ = expire(partial(catalog.load_table, table),
                                        [s.snapshot_id for s in infos if s.timestamp_ms < keep_from])
                    done.append(f"{table}: compacted, {expired} snapshots expired")
                except Exception as exc:  # a commit lost to the job's: tried again on the next round
                    done.append(f"{table}: {type(exc).__name__}: {str(exc)[:200]}")
            stop.wait(5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_taskmanager_killed_three_times_loses_and_duplicates_nothing(local_stack: Settings, fault_job: IngestJob,
                                                                     sent: Sent) -> None:
    """... while compaction and snapshot expiry run on the same tables."""
    settings, job = local_stack, fault_job
    rest = FlinkRest(settings)
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    print(f"fault schedule seed {seed}")
    wait_until(lambda: _latest_checkpoint(rest, job.job_id) >= 1, timeout=120, what="a first checkpoint")
    # The cdc job on the same TaskManager, its snapshot read: the database changes through every kill too.
    cdc_job = submit(settings, "cdc", [])
    wait_for_silver_equal_to_source(settings, 180, "the cdc job's snapshot")
    snapshot_reads = q(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes WHERE operation = 'r'")
    start, already = sent.new_batch(job), len(sent.records)
    kills_done = threading.Event()  # events flow through every kill and recovery, then stop
    producer = produce_in_background(settings, job, sent, SECONDS, stop=kills_done)
    changes = threading.Thread(target=shop.generate_changes, daemon=True,
                               kwargs={"settings": settings, "count": 100_000, "rate": 20, "seed": seed,
                                       "progress": False, "stop": kills_done})
    changes.start()
    taskmanager = FlinkProcess("flink-taskmanager", settings, Runtime(settings))
    restored_before = rest.checkpoints(job.job_id)["counts"]["restored"]
    stop, maintained = threading.Event(), []
    maintenance = maintain_in_background(settings, stop, maintained)
    try:
        for kill in range(KILLS):
            time.sleep(chance.uniform(5, 20))  # a random point: mid-checkpoint, mid-bundle, mid-commit
            checkpoint, cdc_checkpoint = _latest_checkpoint(rest, job.job_id), _latest_checkpoint(rest, cdc_job)
            pid = kill_service(settings, "flink-taskmanager")
            print(f"kill {kill + 1}: TaskManager {pid} after checkpoint {checkpoint}, {len(sent.records)} records sent")
            stack.start_service(taskmanager, timeout=180)
            # Recovered: each job runs again and has completed a checkpoint after the restore.
            wait_until(lambda c=checkpoint, d=cdc_checkpoint: all(
                rest.job(j)["state"] == "RUNNING" and _latest_checkpoint(rest, j) > n + 1
                for j, n in ((job.job_id, c), (cdc_job, d))), timeout=300, interval=2,
                what=f"a checkpoint of each job after kill {kill + 1}")
    finally:
        kills_done.set()
        producer.join()
        changes.join()
        stop.set()
        maintenance.join()
    print("maintenance meanwhile:", Counter(maintained))

    try:
        wait_for_silver_equal_to_source(settings, 120, "silver after the kills")
    except AssertionError:
        print("cdc job:", rest.job(cdc_job)["state"], rest.checkpoints(cdc_job)["counts"],
              (rest.get(f"/jobs/{cdc_job}/exceptions").get("root-exception") or "")[:3000])
        raise
    assert_each_change_once(wait_until(partial(bronze_changes, settings), timeout=30, what="changes in bronze"))
    # Resumed from its checkpoints each time, never from scratch: no snapshot was read again.
    assert q(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes WHERE operation = 'r'") == snapshot_reads
    assert rest.checkpoints(cdc_job)["counts"]["restored"] >= 1
    rest.cancel(cdc_job)
    rest.wait_for_state(cdc_job, {"CANCELED"}, timeout=60)
    replication.drop_slot(settings, settings.cdc_slot)
    assert any("compacted" in m and not m.endswith(" 0 snapshots expired") for m in maintained), maintained
    # Each kill was recovered by a restore from a checkpoint, not by a start from scratch.
    assert rest.checkpoints(job.job_id)["counts"]["restored"] >= restored_before + KILLS
    assert len(sent.records) - already >= RATE * 15 * KILLS  # at least 5 s before each kill and 10 s after
    assert_every_layer_exact(settings, job, sent, sent.records[already:], start)


def test_jobmanager_killed_the_job_resumes_from_its_last_checkpoint(local_stack: Settings, fault_job: IngestJob,
                                                                    sent: Sent) -> None:
    """No HA on the local stack: the job dies with its JobManager. `flowlake submit --resume` restarts it
    from the newest checkpoint it retained, once the JobManager is back."""
    settings, job = local_stack, fault_job
    rest = FlinkRest(settings)
    wait_until(lambda: _latest_checkpoint(rest, job.job_id) >= 1, timeout=120, what="a checkpoint")
    start, already = sent.new_batch(job), len(sent.records)
    producer = produce_in_background(settings, job, sent, 60)
    try:
        time.sleep(random.uniform(10, 25))
        checkpoint = latest_checkpoint(settings, job.job_id)
        pid = kill_service(settings, "flink-jobmanager")
        print(f"killed JobManager {pid}; newest checkpoint {checkpoint}, {len(sent.records)} records sent")
        stack.start_service(FlinkProcess("flink-jobmanager", settings, Runtime(settings)), timeout=180)
        wait_until(lambda: rest.get("/overview")["slots-total"] > 0, timeout=180, what="the TaskManager registered")
        assert rest.running_job(f"ingest-{job.topic}") is None  # gone with the JobManager
        resumed_from = resume_point(settings, "ingest", job.args)
        assert resumed_from.startswith(f"{settings.checkpoints_uri}/{job.job_id}/chk-")
        job.job_id = submit(settings, "ingest", job.args, from_savepoint=resumed_from)
        rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    finally:
        producer.join()
    restored = rest.checkpoints(job.job_id)["latest"]["restored"]["external_path"]  # file:/... or file:///...
    assert restored.rstrip("/").endswith(resumed_from.split("/checkpoints/", 1)[1])
    assert_every_layer_exact(settings, job, sent, sent.records[already:], start)


def test_kafka_broker_killed_and_restarted_on_its_data(local_stack: Settings, fault_job: IngestJob,
                                                       sent: Sent) -> None:
    """The broker dies mid-stream (SIGKILL) and comes back on the same data dir: the job fails over until
    it can reach it, the producers retry, and nothing is lost or doubled, also not on the transactional
    silver topic."""
    settings, job = local_stack, fault_job
    rest = FlinkRest(settings)
    start, already = sent.new_batch(job), len(sent.records)
    producer = produce_in_background(settings, job, sent, 60)
    try:
        time.sleep(random.uniform(10, 25))
        pid = kill_service(settings, "kafka")
        print(f"killed Kafka {pid} after {len(sent.records) - already} records")
        time.sleep(10)
        stack.start_service(Kafka("kafka", settings, Runtime(settings)), timeout=180)
    finally:
        producer.join()
    wait_until(lambda: rest.job(job.job_id)["state"] == "RUNNING", timeout=300, what="the job running again")
    assert_every_layer_exact(settings, job, sent, sent.records[already:], start)


def test_a_failing_udf_fails_the_task_not_the_data(local_stack: Settings) -> None:
    """A bug in the Python UDF (the job's --poison-pill: it raises on one record) fails the task again and
    again, and nothing past that record is committed anywhere. The fix, resubmitting without the bug from
    the newest retained checkpoint, brings every record through once."""
    settings, rest = local_stack, FlinkRest(local_stack)
    pill = f"POISON-{uuid.uuid4().hex[:8]}"
    with own_ingest_job(settings, "poison", hours_back=20, extra=("--poison-pill", pill)) as job:
        sent, start = Sent(), job.clock.start
        generate(settings, 500, None, None, topic=job.topic, seed=random.randrange(10**6, 10**9),
                 mix=Mix(bad=0.05, duplicates=0.05), clock=job.clock, keep=sent.records)
        # Committed first (a checkpoint covers them): the fix resumes from there.
        wait_until(lambda: q(settings, "SELECT count(*) FROM lakehouse.bronze.events "
                                       f"WHERE source_topic = '{job.topic}'")[0][0] >= 500,
                   timeout=300, interval=5, what="the first records committed")
        poisoned = {"event_id": str(uuid.uuid4()), "event_type": "support_message", "user_id": "U00007",
                    "event_time": job.clock().isoformat(timespec="milliseconds"), "country": "DE",
                    "channel": "chat", "message": f"Where is my parcel? {pill}"}
        sent.records.append(("U00007", json.dumps(poisoned).encode(), "valid"))
        producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
        producer.produce(job.topic, key=b"U00007", value=sent.records[-1][1])
        assert producer.flush(30) == 0
        generate(settings, 500, None, None, topic=job.topic, seed=random.randrange(10**6, 10**9),
                 clock=job.clock, keep=sent.records)

        def failures() -> list[str]:
            history = rest.get(f"/jobs/{job.job_id}/exceptions").get("exceptionHistory", {}).get("entries", [])
            return [entry.get("stacktrace", "") for entry in history]

        wait_until(lambda: sum("PoisonPill" in trace for trace in failures()) >= 2, timeout=300, interval=5,
                   what="the task failing on the poisoned record, twice")
        assert not q(settings, "SELECT count(*) FROM lakehouse.bronze.events WHERE source_topic = "
                               f"'{job.topic}' AND strpos(from_utf8(payload), '{pill}') > 0")[0][0]
        # The fix: the job without the bug, from the newest checkpoint the failing one retained.
        rest.cancel(job.job_id)
        rest.wait_for_state(job.job_id, {"CANCELED"}, timeout=120)
        resumed_from = resume_point(settings, "ingest", job.args)
        job.job_id = submit(settings, "ingest", job.args, from_savepoint=resumed_from)
        rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
        assert_every_layer_exact(settings, job, sent, sent.records, start)

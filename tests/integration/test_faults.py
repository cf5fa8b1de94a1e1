"""Exactly once through crashes: the TaskManager is killed (SIGKILL, its Python workers with it) three
times at random moments while events flow, and restarted each time; Flink restores the medallion job
from its last checkpoint. Afterwards every layer is exact: bronze holds each produced record once (count
and distinct Kafka coordinates), quarantine exactly the bad ones, silver and the silver topic every valid
event once, gold equal to the Python reference.

The job runs on a topic and an event-time range of its own (hours before the other tests' events)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from flowlake import stack
from flowlake.config import Settings
from flowlake.flink import FlinkRest, submit
from flowlake.generate import Mix, SteppingClock, generate
from flowlake.kafka import delete_topic, ensure_topic
from flowlake.process import ManagedProcess
from flowlake.runtime import Runtime
from flowlake.services import FlinkProcess
from iceberg.tables import SILVER_TABLE_OF

from .conftest import IngestJob, wait_until
from .test_medallion import LATENESS, _floor, assert_gold_matches, q, read_committed, tick

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

RATE, SECONDS = 50, 150  # 7,500 events while the TaskManager is killed three times
KILLS = 3


@pytest.fixture(scope="module")
def fault_job(local_stack: Settings) -> Iterator[IngestJob]:
    settings = local_stack
    topic = f"it-faults-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    clock = SteppingClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14))
    args = ["--topic", topic, "--silver-topic", f"{topic}.silver", "--group-id", f"g-{topic}",
            "--job-name", f"ingest-{topic}", "--allowed-lateness-seconds", str(int(LATENESS.total_seconds())),
            "--idle-timeout-seconds", "0", "--gold-written-until", (clock.start - timedelta(hours=2)).isoformat()]
    job = IngestJob(submit(settings, "ingest", args), topic, args, clock)
    FlinkRest(settings).wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    yield job
    rest = FlinkRest(settings)
    if rest.job(job.job_id)["state"] == "RUNNING":
        rest.cancel(job.job_id)
    for name in (topic, f"{topic}.silver"):
        delete_topic(settings, name)


def _latest_checkpoint(rest: FlinkRest, job_id: str) -> int:
    completed = (rest.checkpoints(job_id).get("latest") or {}).get("completed") or {}
    return int(completed.get("id", 0))


def kill_taskmanager(settings: Settings) -> int:
    """SIGKILL the TaskManager JVM and its Python workers, as a crashed machine would; returns its pid."""
    proc = ManagedProcess("flink-taskmanager", settings.run_dir, settings.log_dir).process()
    assert proc is not None, "the TaskManager is not running"
    workers = proc.children(recursive=True)
    for victim in [proc, *workers]:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs([proc, *workers], timeout=30)
    return proc.pid


def test_taskmanager_killed_three_times_loses_and_duplicates_nothing(local_stack: Settings,
                                                                     fault_job: IngestJob) -> None:
    settings, job = local_stack, fault_job
    rest = FlinkRest(settings)
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    print(f"fault schedule seed {seed}")
    wait_until(lambda: _latest_checkpoint(rest, job.job_id) >= 1, timeout=120, what="a first checkpoint")

    start = job.clock.start
    records: list[tuple[str, bytes, str]] = []
    producer = threading.Thread(target=generate, kwargs=dict(
        settings=settings, count=None, rate=RATE, duration=SECONDS, topic=job.topic, seed=seed,
        mix=Mix(bad=0.05, duplicates=0.05), clock=job.clock, keep=records))
    producer.start()
    taskmanager = FlinkProcess("flink-taskmanager", settings, Runtime(settings))
    restored_before = rest.checkpoints(job.job_id)["counts"]["restored"]
    try:
        for kill in range(KILLS):
            time.sleep(chance.uniform(5, 20))  # a random point: mid-checkpoint, mid-bundle, mid-commit
            checkpoint = _latest_checkpoint(rest, job.job_id)
            pid = kill_taskmanager(settings)
            print(f"kill {kill + 1}: TaskManager {pid} after checkpoint {checkpoint}, {len(records)} records sent")
            stack.start_service(taskmanager, timeout=180)
            # Recovered: the job runs again and has completed a checkpoint after the restore.
            wait_until(lambda c=checkpoint: rest.job(job.job_id)["state"] == "RUNNING"
                       and _latest_checkpoint(rest, job.job_id) > c + 1, timeout=300, interval=2,
                       what=f"a checkpoint after kill {kill + 1}")
    finally:
        producer.join()
    # Each kill was recovered by a restore from a checkpoint, not by a start from scratch.
    assert rest.checkpoints(job.job_id)["counts"]["restored"] >= restored_before + KILLS

    closing = _floor(job.clock.start, timedelta(hours=1)) + timedelta(hours=1) + 2 * LATENESS
    tick_ids = tick(settings, job, closing)
    total = len(records) + len(tick_ids)
    assert total >= RATE * SECONDS * 0.9

    def bronze() -> list[int]:
        return q(settings, "SELECT count(*), count(DISTINCT (source_partition, source_offset)) "
                           f"FROM lakehouse.bronze.events WHERE source_topic = '{job.topic}'")[0]

    wait_until(lambda: bronze()[0] >= total, timeout=600, interval=5, what=f"{total} rows in bronze")
    time.sleep(2 * settings.checkpoint_interval_seconds)  # a duplicate would show up in the next commits
    assert bronze() == [total, total]

    bad = sorted(payload for _, payload, label in records if label.startswith("bad:"))
    rows = q(settings, f"SELECT payload FROM lakehouse.quarantine.events WHERE source_topic = '{job.topic}'")
    assert sorted(bytes(r[0]) for r in rows) == bad

    valid = [json.loads(payload) for _, payload, label in records if label == "valid"]
    expected = {e["event_id"] for e in valid} | set(tick_ids)

    def silver() -> Counter[str]:
        union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t}" for t in SILVER_TABLE_OF.values())
        return Counter(row[0] for row in q(settings, union) if row[0] in expected)

    ids = wait_until(lambda: (found := silver()) and len(found) >= len(expected) and found, timeout=300,
                     interval=5, what="every valid event in silver")
    assert set(ids) == expected and max(ids.values()) == 1
    published = read_committed(settings, f"{job.topic}.silver", len(expected))
    assert Counter(json.loads(value)["event_id"] for _, value, _ in published) == Counter(expected)
    assert_gold_matches(settings, valid, start, closing)

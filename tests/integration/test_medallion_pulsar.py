"""Pulsar -> the medallion job -> bronze, quarantine, silver, gold -> Trino, on real services: the
same job as test_medallion with the Pulsar source definition, checked against the same reference,
then stopped with a savepoint and resumed without loss or duplicates.

The gold tables are shared with the Kafka job of test_medallion: this job's events lie hours before
those, in windows of their own, and its `--gold-written-until` is set to before them."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic as delete_kafka_topic
from flowlake.clients.kafka import ensure_topic as ensure_kafka_topic
from flowlake.clients.pulsar import client, delete_topic, ensure_topic, topic_url
from flowlake.config import Settings
from flowlake.generate import Mix, SteppingClock, generate
from iceberg.registry import SILVER_TABLE_OF
from udfs.pii import detect

from .conftest import IngestJob, assert_each_once, wait_until
from .lakehouse import NO_MIX, Record, assert_gold_matches, floor_to, page_view, q, read_committed

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EVENTS = 10_000
# The Pulsar table source takes no watermark pushdown: the watermark is per source subtask, not per
# partition, and a subtask reading two partitions of a backlog runs one ahead of the other by up to a
# few receiver queues. The lateness must cover that (the README's Pulsar mode).
LATENESS = timedelta(seconds=600)


@pytest.fixture(scope="module")
def pulsar_job(local_stack: Settings) -> Iterator[IngestJob]:
    settings = local_stack
    topic = f"it-pulsar-{uuid.uuid4().hex[:8]}"
    ensure_topic(settings, topic, settings.events_partitions)
    ensure_kafka_topic(settings, f"{topic}.silver", settings.events_partitions)
    clock = SteppingClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=9))
    args = ["--source", "pulsar", "--topic", topic, "--silver-topic", f"{topic}.silver", "--group-id", f"g-{topic}",
            "--job-name", f"ingest-{topic}", "--allowed-lateness-seconds", str(int(LATENESS.total_seconds())),
            "--idle-timeout-seconds", "0",
            "--gold-written-until", (clock.start - timedelta(hours=2)).isoformat()]
    job = IngestJob(submit(settings, "ingest", args), topic, args, clock)
    FlinkRest(settings).wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    yield job
    rest = FlinkRest(settings)
    if rest.job(job.job_id)["state"] == "RUNNING":
        rest.cancel(job.job_id)
    delete_topic(settings, topic)
    delete_kafka_topic(settings, f"{topic}.silver")


def produce(settings: Settings, job: IngestJob, count: int, seed: int, mix: Mix = NO_MIX) -> list[Record]:
    batch: list[Record] = []
    generate(settings, count, None, None, topic=job.topic, seed=seed, mix=mix, clock=job.clock, keep=batch,
             broker="pulsar")
    return batch


def tick(settings: Settings, job: IngestJob, at: datetime) -> list[dict[str, Any]]:
    """One valid page view on each partition at event time `at`: every partition's watermark moves."""
    pulsar_client = client(settings)
    sent = []
    try:
        for partition in range(settings.events_partitions):
            producer = pulsar_client.create_producer(f"{topic_url(job.topic)}-partition-{partition}")
            event = page_view(at, "U00001", "/tick")
            producer.send(json.dumps(event).encode(), partition_key="U00001")
            producer.close()
            sent.append(event)
    finally:
        pulsar_client.close()
    return sent


def bronze(settings: Settings, job: IngestJob) -> list[Any]:
    """Rows, distinct message ids, partitions and Kafka offsets (none) of this topic's bronze rows."""
    return q(settings, "SELECT count(*), count(DISTINCT source_message_id), count(DISTINCT source_partition), "
                       "count(source_offset) FROM lakehouse.bronze.events "
                       f"WHERE source_topic LIKE '{topic_url(job.topic)}-partition-%'")[0]


def duplicated_messages(settings: Settings, job: IngestJob) -> list[Any]:
    """Where each message that is in bronze twice came from: its partition, when each copy was read and
    the data file each copy is in, with the snapshot that added the file (to tell a source that read a
    message twice from a committer that committed a file twice)."""
    return q(settings, "SELECT source_partition, to_hex(source_message_id), array_agg(ingested_at), "
                       "array_agg(\"$path\"), array_agg(\"$file_modified_time\") FROM lakehouse.bronze.events "
                       f"WHERE source_topic LIKE '{topic_url(job.topic)}-partition-%' "
                       "GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 20")


def silver_ids(settings: Settings) -> Counter[str]:
    """Event ids of the silver rows read from Pulsar (the Kafka job's rows have no message id)."""
    union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t} WHERE source_message_id IS NOT NULL"
                               for t in SILVER_TABLE_OF.values())
    return Counter(row[0] for row in q(settings, union))


def events(records: list[Record], *labels: str) -> list[dict[str, Any]]:
    return [json.loads(payload) for _, payload, label in records if label in labels]


def test_ten_thousand_events_from_pulsar_match_the_reference(local_stack: Settings, pulsar_job: IngestJob) -> None:
    settings, job = local_stack, pulsar_job
    start = job.clock.start
    # Valid events, so that the watermark stands when the late ones arrive (as in test_medallion).
    records = produce(settings, job, 2_000, seed=11)
    wait_until(lambda: bronze(settings, job)[0] >= 2_000, timeout=300, interval=3, what="warm-up in bronze")
    records += produce(settings, job, EVENTS - 2_000 - settings.events_partitions, seed=12,
                       mix=Mix(bad=0.05, duplicates=0.02, late=0.02, late_seconds=1800))
    labels = Counter(label.split(":")[0] for _, _, label in records)
    assert labels["bad"] > 0 and labels["duplicate"] > 0 and labels["late"] > 0
    # The tick moves the watermark an hour ahead. Without pushdown the watermark is per subtask: a tick read
    # from one partition before the rest of another partition's backlog would make that rest late. So the
    # job reads (and commits to bronze) every event first.
    wait_until(lambda: bronze(settings, job)[0] >= len(records), timeout=600, interval=5,
               what=f"{len(records)} in bronze before the tick")
    closing = floor_to(job.clock.start, timedelta(hours=1)) + timedelta(hours=1) + 2 * LATENESS
    job.clock.start = closing + timedelta(seconds=1)
    tick_ids = [e["event_id"] for e in tick(settings, job, closing)]

    # Bronze: every message once, by its message id; Kafka offsets absent.
    wait_until(lambda: bronze(settings, job)[0] >= EVENTS, timeout=600, interval=5, what=f"{EVENTS} in bronze")
    assert bronze(settings, job) == [EVENTS, EVENTS, settings.events_partitions, 0]
    rows = q(settings, "SELECT count(*) FROM lakehouse.bronze.events WHERE source_message_id IS NOT NULL "
                       f"AND source_topic LIKE '{topic_url(job.topic)}-partition-%' AND headers IS NOT NULL "
                       "AND source_timestamp IS NOT NULL AND event_key IS NOT NULL")
    assert rows == [[EVENTS]]

    # Quarantine: exactly the bad records, bytes as received.
    bad = sorted(payload for _, payload, label in records if label.startswith("bad:"))
    rows = q(settings, "SELECT payload, cardinality(failures) FROM lakehouse.quarantine.events "
                       f"WHERE source_topic LIKE '{topic_url(job.topic)}-partition-%'")
    assert sorted(bytes(r[0]) for r in rows) == bad and min(r[1] for r in rows) >= 1

    # Silver: every valid event once, in the table of its type, with its message id.
    expected = {e["event_id"] for e in events(records, "valid", "late")} | set(tick_ids)
    ids = wait_until(lambda: (found := silver_ids(settings)) and expected <= set(found) and found, timeout=300,
                     interval=5, what="every valid event in silver")
    assert_each_once(ids, expected, "silver tables")
    published = read_committed(settings, f"{job.topic}.silver", len(ids))
    assert_each_once(Counter(json.loads(value)["event_id"] for _, value, _ in published), ids, "silver topic")

    # Late events listed; gold windows equal to the reference over the on-time events.
    listed = {r[0] for r in q(settings, "SELECT event_id FROM lakehouse.gold.late_events "
                                        "WHERE source_message_id IS NOT NULL")}
    assert listed == {e["event_id"] for e in events(records, "late")}
    assert_gold_matches(settings, events(records, "valid"), start, closing)

    for table in SILVER_TABLE_OF.values():  # no raw PII in silver
        for row in q(settings, f"SELECT * FROM lakehouse.silver.{table} WHERE source_message_id IS NOT NULL"):
            leaks = [v for v in row if isinstance(v, str) and detect(v)]
            assert not leaks, f"{table}: {leaks[:3]}"


def test_pulsar_job_resumes_from_a_savepoint_without_loss_or_duplicates(
        local_stack: Settings, pulsar_job: IngestJob) -> None:
    settings, job = local_stack, pulsar_job
    rest = FlinkRest(settings)
    already, already_silver = bronze(settings, job)[0], silver_ids(settings)
    in_flight = produce(settings, job, 1_000, seed=13)  # partly read when the job stops
    savepoint = rest.stop_with_savepoint(job.job_id)
    assert rest.job(job.job_id)["state"] == "FINISHED"
    while_stopped = produce(settings, job, 1_000, seed=14)
    job.job_id = submit(settings, "ingest", job.args, from_savepoint=savepoint)
    rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    after_restart = produce(settings, job, 1_000, seed=15)

    batches = in_flight + while_stopped + after_restart
    total = already + len(batches)
    wait_until(lambda: bronze(settings, job)[0] >= total, timeout=600, interval=5, what=f"{total} in bronze")
    time.sleep(2 * settings.checkpoint_interval_seconds)  # a duplicate would come with a later commit
    assert bronze(settings, job)[:2] == [total, total], duplicated_messages(settings, job)
    expected = set(already_silver) | {e["event_id"] for e in events(batches, "valid")}
    ids = wait_until(lambda: (found := silver_ids(settings)) and expected <= set(found) and found, timeout=300,
                     interval=5, what="the new events in silver")
    assert_each_once(ids, expected, "silver tables")

"""The hostile corpus (tests/hostile.py) through Kafka and the medallion job: the job keeps running
without a single restart, every record lands in bronze, each bad one in quarantine with the reason
the corpus names, each good one in silver exactly as sent (injection strings are data); events sent
after the corpus flow as usual.

Runs with the fault tests, after the others: its rows would show in their "everything so far" counts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.generate import SteppingClock, generate
from flowlake.kafka_security import client_config
from iceberg.registry import SILVER_TABLE_OF
from tests.hostile import corpus

from .conftest import IngestJob, wait_until
from .lakehouse import q

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.faults]
AFTER = 500  # ordinary events after the corpus


@pytest.fixture(scope="module")
def hostile_job(local_stack: Settings) -> Iterator[IngestJob]:
    settings = local_stack
    topic = f"it-hostile-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    clock = SteppingClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=20))
    args = ["--topic", topic, "--silver-topic", f"{topic}.silver", "--group-id", f"g-{topic}",
            "--job-name", f"ingest-{topic}", "--gold-written-until", (clock.start - timedelta(hours=2)).isoformat()]
    job = IngestJob(submit(settings, "ingest", args), topic, args, clock)
    FlinkRest(settings).wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    yield job
    rest = FlinkRest(settings)
    if any(j["jid"] == job.job_id and j["state"] == "RUNNING" for j in rest.jobs()):
        rest.cancel(job.job_id)
    for name in (topic, f"{topic}.silver"):
        delete_topic(settings, name)


def test_hostile_records_are_quarantined_with_their_reason_and_nothing_stops(local_stack: Settings,
                                                                            hostile_job: IngestJob) -> None:
    settings, job = local_stack, hostile_job
    rest = FlinkRest(settings)
    entries = corpus(job.clock.start)
    job.clock.start += timedelta(seconds=20)
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for entry in entries:
        producer.produce(job.topic, key=b"U00042", value=entry.payload)
    assert producer.flush(60) == 0
    after: list[tuple[str, bytes, str]] = []
    generate(settings, AFTER, None, None, topic=job.topic, seed=5, clock=job.clock, keep=after)
    total = len(entries) + AFTER

    def bronze() -> int:
        sql = f"SELECT count(*) FROM lakehouse.bronze.events WHERE source_topic = '{job.topic}'"
        return int(q(settings, sql)[0][0])

    wait_until(lambda: bronze() >= total, timeout=420, interval=5, what=f"{total} rows in bronze")
    assert bronze() == total
    assert rest.job(job.job_id)["state"] == "RUNNING"
    assert rest.checkpoints(job.job_id)["counts"]["restored"] == 0  # never failed over

    bad = [e for e in entries if not e.valid]
    rows = q(settings, "SELECT payload, failures FROM lakehouse.quarantine.events "
                       f"WHERE source_topic = '{job.topic}'")
    reasons = {(bytes(r[0]) if r[0] is not None else None): r[1] for r in rows}
    assert len(rows) == len(bad) == len(reasons)
    for entry in bad:
        assert entry.payload in reasons, entry.name
        assert reasons[entry.payload][0].startswith(entry.expect + ":"), (entry.name, reasons[entry.payload])

    good = {json.loads(e.payload)["event_id"] for e in entries if e.valid and e.payload}
    good |= {json.loads(p)["event_id"] for _, p, label in after if label == "valid"}
    union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t}" for t in SILVER_TABLE_OF.values())

    def silver() -> list[str]:
        return [r[0] for r in q(settings, union) if r[0] in good]

    ids = wait_until(lambda: (found := silver()) and len(found) >= len(good) and found, timeout=300, interval=5,
                     what="every valid record in silver")
    assert sorted(ids) == sorted(good)
    pages = {r[0] for r in q(settings, "SELECT page FROM lakehouse.silver.page_views "
                                       "WHERE page LIKE '%DROP TABLE%'")}
    assert pages == {"/'; DROP TABLE lakehouse.bronze.events; --"}  # data, stored as sent

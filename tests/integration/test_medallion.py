"""Kafka -> the medallion job -> bronze, quarantine, silver, gold -> Trino, on real services.

A known mix goes in (bad records, duplicates, late events); every layer is checked exactly: bronze =
produced, quarantine = bad, silver = valid distinct, gold = a reference computed here in Python from
the same events, late events listed. Then the job is stopped with a savepoint and restarted from it
without loss or duplicates, and freshness (produce -> visible in Trino) is measured."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest, submit
from flowlake.config import Settings
from flowlake.generate import Mix, generate
from flowlake.kafka_security import client_config
from iceberg.registry import SILVER_TABLE_OF
from udfs.pii import detect

from .conftest import IngestJob, assert_each_once, wait_until
from .lakehouse import (
    LATENESS,
    NO_MIX,
    Record,
    assert_gold_matches,
    assert_privacy_requests,
    bronze_count,
    floor_to,
    funnel_reference,
    order,
    page_view,
    q,
    read_committed,
    revenue_reference,
    silver_ids,
    tick,
    time_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]



@dataclass
class Produced:
    """Everything this module put on the topic, in order, with the generator's labels."""

    records: list[Record] = field(default_factory=list)

    def add(self, settings: Settings, job: IngestJob, count: int, seed: int,
            mix: Mix = NO_MIX) -> list[Record]:
        batch: list[Record] = []
        generate(settings, count, None, None, topic=job.topic, seed=seed, mix=mix, clock=job.clock, keep=batch)
        self.records += batch
        return batch

    def events(self, *labels: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for _, payload, label in self.records if label in labels]


@pytest.fixture(scope="module")
def produced() -> Produced:
    return Produced()



def test_every_layer_is_exact(local_stack: Settings, ingest_job: IngestJob, produced: Produced) -> None:
    settings, job = local_stack, ingest_job
    start = job.clock.start
    # First valid events only, so that the watermark stands when the late ones arrive: lateness is
    # judged against the watermark, which a backlog read in one burst would not have moved yet.
    produced.add(settings, job, 2_000, seed=1)
    wait_until(lambda: bronze_count(settings, job.topic) >= 2_000, timeout=300, interval=3, what="warm-up in bronze")
    # Then the mix. Late events are 30 min behind, more than this batch spans (18,000 x 50 ms).
    mix = Mix(bad=0.05, duplicates=0.02, late=0.02, late_seconds=1800)
    batch = produced.add(settings, job, 18_000, seed=2, mix=mix)
    labels = Counter(label.split(":")[0] for _, _, label in batch)
    assert labels["bad"] > 0 and labels["duplicate"] > 0 and labels["late"] > 0
    closing = floor_to(job.clock.start, timedelta(hours=1)) + timedelta(hours=1) + 2 * LATENESS
    job.clock.start = closing + timedelta(seconds=1)
    tick_ids = tick(settings, job, closing)
    total = len(produced.records) + len(tick_ids)

    # Bronze: everything, once.
    wait_until(lambda: bronze_count(settings, job.topic) >= total, timeout=600, interval=5, what=f"{total} in bronze")
    rows = q(settings, "SELECT count(*), count(DISTINCT (source_partition, source_offset)), "
                       "count(DISTINCT source_partition) "
                       f"FROM lakehouse.bronze.events WHERE source_topic = '{job.topic}'")
    assert rows[0] == [total, total, settings.events_partitions]

    # Quarantine: exactly the bad records, each with its reasons.
    bad = [payload for _, payload, label in produced.records if label.startswith("bad:")]
    rows = q(settings, "SELECT count(*), min(cardinality(failures))"
                       f" FROM lakehouse.quarantine.events WHERE source_topic = '{job.topic}'")
    assert rows[0][0] == len(bad) and rows[0][1] >= 1
    rows = q(settings, f"SELECT payload FROM lakehouse.quarantine.events WHERE source_topic = '{job.topic}'")
    assert sorted(bytes(r[0]) for r in rows) == sorted(bad)  # bytes exactly as received, not-UTF-8 ones too

    # Silver: every valid event once (duplicates dropped), in the table of its type.
    expected = {e["event_id"] for e in produced.events("valid", "late")} | set(tick_ids)
    ids = wait_until(lambda: (found := silver_ids(settings)) and expected <= set(found) and found, timeout=300,
                     interval=5, what="every valid event in silver")
    assert_each_once(ids, expected, "silver tables")
    for event_type, table in SILVER_TABLE_OF.items():
        want = sum(1 for e in produced.events("valid", "late") if e["event_type"] == event_type)
        want += len(tick_ids) if event_type == "page_view" else 0
        assert q(settings, f"SELECT count(*) FROM lakehouse.silver.{table} "
                           "WHERE source_message_id IS NULL")[0][0] == want, table

    # The silver topic: the same events, once each, masked, visible to read_committed consumers.
    published = read_committed(settings, f"{job.topic}.silver", len(ids))
    assert_each_once(Counter(json.loads(value)["event_id"] for _, value, _ in published), ids, "silver topic")
    for key, value, timestamp in published:  # keyed by user, stamped with the event time
        event = json.loads(value)
        assert key.decode() == event["user_id"] and timestamp == int(time_of(event).timestamp() * 1000)
    leaks = [value for _, value, _ in published if detect(value.decode())]
    assert not leaks, leaks[:3]

    # Late events: in silver, and listed in gold.late_events instead of the windows.
    late = {e["event_id"] for e in produced.events("late")}
    listed = {r[0] for r in q(settings, "SELECT event_id FROM lakehouse.gold.late_events "
                                        "WHERE source_message_id IS NULL")}
    assert listed == late

    # Gold: windows closed by the tick, equal to the reference over on-time events.
    assert_gold_matches(settings, produced.events("valid"), start, closing)

    # Privacy requests: exactly those the support messages were written with, once each (duplicates of a
    # message make none), with the user as a keyed hash, due 30 days after the message.
    assert_privacy_requests(settings, produced.events("valid", "late"))

    # No raw PII left in silver or gold: every string column scanned.
    for table in [*(f"silver.{t}" for t in SILVER_TABLE_OF.values()), "gold.late_events",
                  "gold.revenue_per_minute", "gold.funnel_hourly", "gold.privacy_requests"]:
        for row in q(settings, f"SELECT * FROM lakehouse.{table}"):
            leaks = [(v, detect(v)) for v in row if isinstance(v, str) and detect(v)]
            assert not leaks, f"{table}: {leaks[:3]}"

    # Each Iceberg commit carries the Flink checkpoint it belongs to.
    rows = q(settings, "SELECT summary['flink.max-committed-checkpoint-id'] FROM lakehouse.silver.\"orders$snapshots\"")
    assert rows and all(r[0] is not None for r in rows)


def test_free_text_columns_carry_no_statistics_in_the_data_files(local_stack: Settings, ingest_job: IngestJob,
                                                                  produced: Produced) -> None:
    """The registry's no_metrics columns (raw payloads, message texts) get neither Iceberg bounds nor
    Parquet's own min/max in the files the job writes; the other columns keep both."""
    from urllib.parse import urlparse

    import pyarrow.parquet as pq

    from iceberg import registry

    settings = local_stack
    for table in (registry.BRONZE_EVENTS, registry.SILVER_SUPPORT_MESSAGES):
        namespace, name = table.identifier.split(".")
        # A file the streaming job wrote (Trino, which rewrites files for erasure, keeps its own statistics).
        where = f"WHERE source_topic = '{ingest_job.topic}'" if "source_topic" in table.column_names() else ""
        path = q(settings, f'SELECT "$path" FROM lakehouse.{table.identifier} {where} LIMIT 1')[0][0]
        metadata = pq.ParquetFile(urlparse(path).path).metadata
        columns = {metadata.row_group(0).column(i).path_in_schema: metadata.row_group(0).column(i)
                   for i in range(metadata.num_columns)}
        free_text = [c for c in table.no_metrics if c in table.column_names()]
        assert free_text, table.identifier
        for column in free_text:
            stats = columns[column].statistics
            assert stats is None or not stats.has_min_max, (table.identifier, column)
        assert columns["source_offset"].statistics.has_min_max, table.identifier
        ids = {column[0]: i + 1 for i, column in enumerate(table.columns)}
        bounds = q(settings, f'SELECT lower_bounds FROM lakehouse.{namespace}."{name}$files" '
                             f"WHERE file_path = '{path}'")[0][0]
        assert ids["source_offset"] in bounds and not {ids[c] for c in free_text} & set(bounds)


def test_the_analytics_views_match_the_reference(local_stack: Settings, ingest_job: IngestJob,
                                                 produced: Produced) -> None:
    """`flowlake views create`, then every view over what test_every_layer_is_exact produced (the only
    data in these tables so far), against the same events computed in Python."""
    import subprocess
    import sys
    from pathlib import Path

    from udfs.privacy import WITHDRAWS, classify
    from udfs.records import check_event

    settings = local_stack
    created = subprocess.run([str(Path(sys.executable).parent / "flowlake"), "views", "create"], capture_output=True,
                             text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    on_time = produced.events("valid")

    revenue: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    for (window_start, country, category, currency), (orders, units, amount) in revenue_reference(
            [e for e in on_time if e["event_type"] == "order"]).items():
        row = revenue[(window_start.date(), country, category, currency)]
        row[0], row[1], row[2] = row[0] + orders, row[1] + units, row[2] + amount
    rows = q(settings, "SELECT day, country, category, currency, orders, units, revenue "
                       "FROM lakehouse.analytics.revenue_daily")
    assert {tuple(r[:4]): list(r[4:]) for r in rows} == dict(revenue)

    days: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for hour, counts in funnel_reference(on_time).items():
        days[hour.date()] = [a + b for a, b in zip(days[hour.date()], counts, strict=True)]
    rows = q(settings, "SELECT day, page_views, add_to_carts, orders, visitor_hours, buyer_hours, cart_per_view, "
                       "buyer_conversion FROM lakehouse.analytics.funnel_daily")
    assert {r[0]: r[1:6] for r in rows} == days
    for r in rows:
        assert r[6] == round(r[2] / r[1], 4) and r[7] == round(r[5] / r[4], 4)

    # Quarantine by rule: the validation code itself, run here on the bad payloads.
    now = datetime.now(UTC)
    bad = [payload for _, payload, label in produced.records if label.startswith("bad:")]
    expected = Counter(failure.split(":")[0] for payload in bad for failure in check_event(payload, now).failures)
    rows = q(settings, "SELECT rule, sum(failures) FROM lakehouse.analytics.quality_by_rule GROUP BY rule")
    assert dict((r[0], r[1]) for r in rows) == dict(expected)
    rows = q(settings, "SELECT sum(received), sum(quarantined), min(quarantine_rate) >= 0 "
                       "FROM lakehouse.analytics.quality_hourly")
    assert rows == [[bronze_count(settings, ingest_job.topic), len(bad), True]]

    # The marketing audience: everyone active in silver (valid and late events; the tick's user aside) but
    # those whose support messages opt out or unsubscribe, as udfs.privacy classifies them (gold.consent).
    stored = produced.events("valid", "late")
    withdrawn = {e["user_id"] for e in stored if e["event_type"] == "support_message"
                 and any(intent.label in WITHDRAWS for intent in classify(e["message"]))}
    activity: dict[str, Counter[str]] = defaultdict(Counter)
    for e in stored:
        if e["event_type"] in ("page_view", "add_to_cart", "order"):
            activity[e["user_id"]][e["event_type"]] += 1
    audience = {user: [c["page_view"], c["add_to_cart"], c["order"]] for user, c in activity.items()
                if user not in withdrawn and user != "U00001"}
    rows = q(settings, "SELECT user_id, page_views, add_to_carts, orders FROM lakehouse.analytics.marketing_audience "
                       "WHERE user_id <> 'U00001'")
    assert withdrawn & activity.keys(), "the generated mix has active users who opted out"
    assert {r[0]: r[1:] for r in rows} == audience


def test_restart_from_a_savepoint_loses_nothing_and_duplicates_nothing(
        local_stack: Settings, ingest_job: IngestJob, produced: Produced) -> None:
    settings, job = local_stack, ingest_job
    rest = FlinkRest(settings)
    before_bronze = bronze_count(settings, job.topic)
    before_silver = silver_ids(settings)
    savepoint = rest.stop_with_savepoint(job.job_id)
    assert rest.job(job.job_id)["state"] == "FINISHED"

    # Late orders first on every partition: after the restart the watermark is unknown until each
    # partition has delivered a record, and these belong to a gold window written before the stop.
    [(window_start, country, category, currency)] = q(
        settings, "SELECT window_start, country, category, currency FROM lakehouse.gold.revenue_per_minute "
                  "ORDER BY window_end DESC, country, category LIMIT 1")
    late_orders = [order(window_start + timedelta(seconds=10), country, category, currency)
                   for _ in range(settings.events_partitions)]
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for partition, late_order in enumerate(late_orders):
        producer.produce(job.topic, key=b"U00003", value=json.dumps(late_order).encode(), partition=partition)
    assert producer.flush(30) == 0
    while_stopped = produced.add(settings, job, 1_500, seed=3)
    job.job_id = submit(settings, "ingest", job.args, from_savepoint=savepoint)
    rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    after_restart = produced.add(settings, job, 1_500, seed=4)
    # Copies of events from before the restart: the deduplication state came back with the savepoint.
    replayed = [r for r in produced.records[:5_000] if r[2] == "valid"][:200]
    for key, payload, _ in replayed:
        producer.produce(job.topic, key=key.encode(), value=payload)
    assert producer.flush(30) == 0

    total = before_bronze + len(late_orders) + len(while_stopped) + len(after_restart) + len(replayed)
    wait_until(lambda: bronze_count(settings, job.topic) >= total, timeout=600, interval=5, what=f"{total} in bronze")
    rows = q(settings, "SELECT count(*), count(DISTINCT (source_partition, source_offset))"
                       f" FROM lakehouse.bronze.events WHERE source_topic = '{job.topic}'")
    assert rows[0] == [total, total]
    new = {json.loads(p)["event_id"] for _, p, label in while_stopped + after_restart if label == "valid"}
    expected = set(before_silver) | new | {o["event_id"] for o in late_orders}
    ids = wait_until(lambda: (found := silver_ids(settings)) and expected <= set(found) and found, timeout=300,
                     interval=5, what="the new events in silver")
    assert_each_once(ids, expected, "silver tables")
    # The silver topic's transactions resumed: every event once, none twice, across the restart.
    published = read_committed(settings, f"{job.topic}.silver", len(ids))
    assert_each_once(Counter(json.loads(value)["event_id"] for _, value, _ in published), ids, "silver topic")

    # The late orders are listed as late; no gold window was written a second time.
    listed = {r[0] for r in q(settings, "SELECT event_id FROM lakehouse.gold.late_events")}
    assert {o["event_id"] for o in late_orders} <= listed
    assert q(settings, "SELECT window_start, country, category, currency FROM lakehouse.gold.revenue_per_minute "
                       "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1") == []
    assert q(settings, "SELECT window_start FROM lakehouse.gold.funnel_hourly GROUP BY 1 HAVING count(*) > 1") == []


def test_freshness_from_kafka_to_trino(local_stack: Settings, ingest_job: IngestJob) -> None:
    """Produce -> visible in silver through Trino, per event, against the checkpoint interval."""
    settings, job = local_stack, ingest_job
    producer = Producer({**client_config(settings, "admin"), "linger.ms": 0})
    sent: dict[str, float] = {}
    for _ in range(20):
        event = page_view(job.clock(), "U00002", "/fresh")
        event_id = event["event_id"]
        producer.produce(job.topic, key=b"U00002", value=json.dumps(event).encode())
        producer.flush(10)
        sent[event_id] = time.monotonic()
        time.sleep(0.5)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 180
    id_list = ", ".join(f"'{i}'" for i in sent)
    while len(seen) < len(sent) and time.monotonic() < deadline:
        visible = q(settings, f"SELECT event_id FROM lakehouse.silver.page_views WHERE event_id IN ({id_list})")
        for (event_id,) in visible:
            seen.setdefault(event_id, time.monotonic())
        time.sleep(0.5)
    assert len(seen) == len(sent), "not every event became visible within 180 s"
    latencies = sorted(seen[i] - sent[i] for i in sent)
    p50, p99 = statistics.median(latencies), latencies[-1]
    interval = settings.checkpoint_interval_seconds
    print(f"\nfreshness over {len(latencies)} events: p50 {p50:.1f} s, p99 {p99:.1f} s "
          f"(checkpoint interval {interval} s)")
    # An Iceberg commit happens once per checkpoint: visible within about one to two intervals.
    assert p50 <= 2 * interval + 5

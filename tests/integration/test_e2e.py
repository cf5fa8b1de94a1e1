"""Kafka -> Flink ingest job -> Iceberg bronze -> Trino: nothing lost, nothing duplicated."""

from __future__ import annotations

import pytest

from flowlake.config import Settings
from flowlake.generate import generate
from flowlake.trino_client import query
from iceberg.catalog import describe_tables, load_catalog

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
EVENTS = 10_000


def test_ten_thousand_events_arrive_exactly_once(local_stack: Settings, ingest_job: tuple[str, str]) -> None:
    _, topic = ingest_job
    assert generate(local_stack, EVENTS, None, None, topic=topic, seed=42) == {"valid": EVENTS}
    where = f"FROM lakehouse.bronze.events WHERE kafka_topic = '{topic}'"

    def visible() -> int:
        return int(query(local_stack, f"SELECT count(*) {where}")[1][0][0])

    wait_until(lambda: visible() >= EVENTS, timeout=240, interval=3, what=f"{EVENTS} rows in bronze")
    # One more checkpoint cycle: a duplicate would show up now if there were one.
    _, rows = query(local_stack, f"SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)), "
                                 f"count(DISTINCT json_extract_scalar(payload, '$.event_id')), "
                                 f"count(DISTINCT kafka_partition) {where}")
    total, distinct_offsets, distinct_ids, partitions = rows[0]
    assert total == EVENTS
    assert distinct_offsets == EVENTS
    assert distinct_ids == EVENTS
    assert partitions == local_stack.events_partitions
    # `flowlake tables` reads the same commits through PyIceberg.
    bronze = next(i for i in describe_tables(load_catalog(local_stack)) if i.identifier == "bronze.events")
    assert bronze.records >= EVENTS and bronze.snapshots >= 1 and bronze.data_files >= 1

"""What the integration tests of the medallion job share: Trino queries, committed reads of a Kafka
topic, events built by hand, the tick that closes gold windows, and the reference the gold tables
are checked against (computed here in Python from the same events)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from confluent_kafka import Consumer, Producer

from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.generate import PRODUCTS, Mix, privacy_intents
from flowlake.kafka_security import client_config
from flowlake.keys import pii_hash_key
from iceberg.registry import SILVER_TABLE_OF
from udfs.masking import hash_token
from udfs.privacy import INTENTS, RESPONSE_DAYS, WITHDRAWS
from udfs.privacy_model import load_model
from udfs.records import USER_ID

from .conftest import IngestJob, wait_until

LATENESS = timedelta(seconds=30)  # --allowed-lateness-seconds of the test job
Record = tuple[str, bytes, str]
NO_MIX = Mix()


def q(settings: Settings, sql: str) -> list[list[Any]]:
    return query(settings, sql)[1]


def bronze_count(settings: Settings, topic: str) -> int:
    return int(q(settings, f"SELECT count(*) FROM lakehouse.bronze.events WHERE source_topic = '{topic}'")[0][0])


def silver_ids(settings: Settings) -> Counter[str]:
    """Event ids of the silver rows read from Kafka (test_medallion_pulsar's rows have a message id)."""
    union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t} WHERE source_message_id IS NULL"
                               for t in SILVER_TABLE_OF.values())
    return Counter(row[0] for row in q(settings, union))


def read_committed(settings: Settings, topic: str, expected: int,
                   timeout: float = 120) -> list[tuple[bytes, bytes, int]]:
    """(key, value, timestamp in ms) of every committed record of a topic, once at least `expected` arrived and a
    few seconds more brought nothing new (to see records beyond the expected ones too)."""
    consumer = Consumer({**client_config(settings, "admin"), "group.id": f"check-{uuid.uuid4().hex[:8]}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: list[tuple[bytes, bytes, int]] = []
    deadline, quiet_since = time.monotonic() + timeout, time.monotonic()
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len(records) >= expected and time.monotonic() - quiet_since > 5:
                    break
                continue
            records.append((message.key(), message.value(), message.timestamp()[1]))
            quiet_since = time.monotonic()
    finally:
        consumer.close()
    return records


def tick(settings: Settings, job: IngestJob, at: datetime) -> list[str]:
    """One valid page view per partition at event time `at`: moves the watermark of every
    partition, so that every window ending before `at` - lateness closes."""
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    ids = []
    for partition in range(settings.events_partitions):
        event = page_view(at, "U00001", "/tick")
        producer.produce(job.topic, key=b"U00001", value=json.dumps(event).encode(), partition=partition)
        ids.append(event["event_id"])
    assert producer.flush(30) == 0
    return ids


def page_view(at: datetime, user_id: str, page: str) -> dict[str, Any]:
    """A valid page view with a new event id, outside the generator's mix."""
    return {"event_id": str(uuid.uuid4()), "event_type": "page_view",
            "event_time": at.isoformat(timespec="milliseconds"), "user_id": user_id, "country": "DE",
            "page": page, "session_id": page.strip("/")}


def order(at: datetime, country: str, category: str, currency: str) -> dict[str, Any]:
    """A valid one-line order of a product in `category`, outside the generator's mix."""
    sku, name, _, price = next(p for p in PRODUCTS if p[2] == category)
    return {"event_id": str(uuid.uuid4()), "event_type": "order", "event_time": at.isoformat(timespec="milliseconds"),
            "user_id": "U00003", "country": country, "order_id": "ORD-12345678",
            "items": [{"sku": sku, "name": name, "category": category, "quantity": 1, "unit_price": price}],
            "total": price, "currency": currency, "email": "late.buyer@example.com"}


def time_of(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["event_time"])


def floor_to(at: datetime, unit: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=at.tzinfo)
    return at - (at - epoch) % unit


RevenueKey = tuple[datetime, str, str, str]  # window start, country, category, currency


def revenue_reference(orders: list[dict[str, Any]]) -> dict[RevenueKey, tuple[int, int, Decimal]]:
    """(orders with a line in the category, units, revenue) per minute, country, category, currency."""
    order_ids: dict[RevenueKey, set[str]] = defaultdict(set)
    units: Counter[RevenueKey] = Counter()
    revenue: dict[RevenueKey, Decimal] = defaultdict(Decimal)
    for order in orders:
        for line in order["items"]:
            minute = floor_to(time_of(order), timedelta(minutes=1))
            key = (minute, order["country"], line["category"], order["currency"])
            order_ids[key].add(order["event_id"])
            units[key] += line["quantity"]
            revenue[key] += line["quantity"] * Decimal(str(line["unit_price"]))
    return {key: (len(ids), units[key], revenue[key]) for key, ids in order_ids.items()}


def funnel_reference(events: list[dict[str, Any]]) -> dict[datetime, tuple[int, int, int, int, int]]:
    counts: dict[datetime, Counter[str]] = defaultdict(Counter)
    visitors: dict[datetime, set[str]] = defaultdict(set)
    buyers: dict[datetime, set[str]] = defaultdict(set)
    for event in events:
        hour = floor_to(time_of(event), timedelta(hours=1))
        counts[hour][event["event_type"]] += 1
        if event["event_type"] == "page_view":
            visitors[hour].add(event["user_id"])
        elif event["event_type"] == "order":
            buyers[hour].add(event["user_id"])
    return {hour: (c["page_view"], c["add_to_cart"], c["order"], len(visitors[hour]), len(buyers[hour]))
            for hour, c in counts.items() if c["page_view"] + c["add_to_cart"] + c["order"]}


def assert_gold_matches(settings: Settings, on_time: list[dict[str, Any]], start: datetime, closing: datetime) -> None:
    """The gold windows from the first event (up to 5 s of jitter before `start`) to `closing` equal the
    reference over the on-time events."""
    first = start - timedelta(seconds=5)
    revenue = revenue_reference([e for e in on_time if e["event_type"] == "order"])
    until = f"window_end <= TIMESTAMP '{closing:%Y-%m-%d %H:%M:%S.%f} UTC'"

    def gold_revenue() -> dict[RevenueKey, tuple[int, int, Decimal]]:
        rows = q(settings, "SELECT window_start, country, category, currency, orders, units, revenue "
                           "FROM lakehouse.gold.revenue_per_minute WHERE window_start >= "
                           f"TIMESTAMP '{floor_to(first, timedelta(minutes=1)):%Y-%m-%d %H:%M:%S} UTC' AND {until}")
        return {(r[0], r[1], r[2], r[3]): (r[4], r[5], r[6]) for r in rows}

    got = wait_until(lambda: (g := gold_revenue()) and len(g) >= len(revenue) and g, timeout=300, interval=5,
                     what="every revenue window")
    assert got == revenue
    rows = q(settings, "SELECT window_start, page_views, add_to_carts, orders, visitors, buyers "
                       "FROM lakehouse.gold.funnel_hourly WHERE window_start >= "
                       f"TIMESTAMP '{floor_to(first, timedelta(hours=1)):%Y-%m-%d %H:%M:%S} UTC' AND {until}")
    assert {r[0]: tuple(r[1:]) for r in rows} == funnel_reference(on_time)


def assert_privacy_requests(settings: Settings, events: list[dict[str, Any]]) -> None:
    key = pii_hash_key(settings).encode()
    expected = {f"{e['event_id']}/{intent}": (e["event_id"], hash_token(e["user_id"], USER_ID, key), intent,
                                               time_of(e), time_of(e) + timedelta(days=RESPONSE_DAYS))
                for e in events if e["event_type"] == "support_message" for intent in privacy_intents(e["message"])}
    assert {intent for *_, intent, _, _ in expected.values()} == set(INTENTS)  # the generator makes every kind
    ids = ", ".join(f"'{event_id}'" for event_id, *_ in expected.values())
    sql = ("SELECT request_id, event_id, user_token, intent, received_at, due_by, status, confidence, decided_by "
           f"FROM lakehouse.gold.privacy_requests WHERE event_id IN ({ids})")
    rows = wait_until(lambda: (r := q(settings, sql)) and len(r) >= len(expected) and r, timeout=120, interval=5,
                      what="every privacy request in gold")
    assert {r[0]: tuple(r[1:6]) for r in rows} == expected and len(rows) == len(expected)
    # Opt-outs and unsubscribes are carried out by the job (gold.consent) as they are written; the rest wait.
    assert all(r[6] == ("DONE" if r[3] in WITHDRAWS else "OPEN") for r in rows), {(r[3], r[6]) for r in rows}
    assert all(0 < r[7] <= 0.99 for r in rows)
    # Each says what found it: a rule (its intent and number) or the model (its version).
    decided = re.compile(rf"rule:([A-Z_]+)\.\d+|model:{re.escape(load_model().version)}")
    assert all((m := decided.fullmatch(r[8] or "")) and m.group(1) in (None, r[3]) for r in rows), rows[:3]
    # No request from the messages that make none (negations, accidents, order questions).
    support_ids = ", ".join(f"'{e['event_id']}'" for e in events if e["event_type"] == "support_message")
    assert q(settings, "SELECT count(*) FROM lakehouse.gold.privacy_requests "
                       f"WHERE event_id IN ({support_ids})")[0][0] == len(expected)


def background_page_views(settings: Settings, job: IngestJob, stop: threading.Event, sent: list[str],
                          user_id: str = "U00002", page: str = "/busy") -> threading.Thread:
    """One user's page views, 20/s, until stopped: the job keeps writing while something else runs (an
    erasure, retention). The ids sent are appended to `sent`."""
    def run() -> None:
        producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
        while not stop.is_set():
            event = page_view(job.clock(), user_id, page)
            sent.append(event["event_id"])
            producer.produce(job.topic, key=user_id.encode(), value=json.dumps(event).encode())
            producer.poll(0)
            time.sleep(0.05)
        assert producer.flush(30) == 0

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread

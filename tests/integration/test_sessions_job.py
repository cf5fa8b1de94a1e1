"""The sessions job on real Kafka, Flink and Iceberg: a scripted silver stream with known sessions and
known velocity alerts (some events out of order inside the watermark bound) gives exactly those
sessions and alerts in Iceberg and on the alerts topic (read_committed), nothing more; and the same
when the job is stopped with a savepoint in the middle of open sessions and restored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.kafka_security import client_config

from .conftest import wait_until
from .lakehouse import read_committed

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

GAP_MINUTES = 30
OUT_OF_ORDERNESS_SECONDS = 300


@dataclass
class Scenario:
    """Three users and two cards, laid out in minutes after t0, in the order they are produced."""

    t0: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0)
                         - timedelta(hours=6))
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def user(self, name: str) -> str:
        return f"U{name}{self.suffix}"

    def card(self, name: str) -> str:
        return f"<CREDIT_CARD#{name}{self.suffix}>"

    def at(self, minute: float) -> datetime:
        return self.t0 + timedelta(minutes=minute)

    def event(self, minute: float, user: str, event_type: str, **fields: Any) -> dict[str, Any]:
        return {"event_id": f"{event_type}-{self.user(user)}-{minute}", "event_type": event_type,
                "event_time": self.at(minute).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "user_id": self.user(user), "country": "DE", **fields}

    def events(self) -> list[dict[str, Any]]:
        e = self.event
        return [
            e(0, "a", "page_view", page="/"), e(1, "b", "page_view", page="/"),
            e(2, "a", "add_to_cart", sku="SKU-1001", quantity=1, unit_price=259.9),
            e(4, "a", "order", order_id="ORD-10000001", total=259.9, currency="EUR"),
            e(5, "c", "payment", amount=10.0, currency="EUR", method="card", card_token=self.card("one")),
            e(7, "c", "payment", amount=10.0, currency="EUR", method="card", card_token=self.card("one")),
            e(11, "c", "payment", amount=10.0, currency="EUR", method="card", card_token=self.card("one")),
            e(9, "c", "payment", amount=10.0, currency="EUR", method="card", card_token=self.card("one")),  # 2 min late
            e(20, "b", "page_view", page="/cart"),
            e(19, "b", "page_view", page="/search"),  # 1 min late
            # -- a savepoint can fall here: every user has an open session --
            e(30, "c", "payment", amount=600.0, currency="EUR", method="card", card_token=self.card("two")),
            e(35, "c", "payment", amount=500.0, currency="EUR", method="card", card_token=self.card("two")),
            e(45, "a", "page_view", page="/"), e(50, "a", "page_view", page="/account"),
        ]

    def expected_sessions(self) -> set[tuple[Any, ...]]:
        # (user, start, end, events, page views, cart adds, orders, revenue)
        return {
            (self.user("a"), self.at(0), self.at(4), 3, 1, 1, 1, Decimal("259.90")),
            (self.user("a"), self.at(45), self.at(50), 2, 2, 0, 0, Decimal("0.00")),
            (self.user("b"), self.at(1), self.at(20), 3, 3, 0, 0, Decimal("0.00")),
            (self.user("c"), self.at(5), self.at(35), 6, 0, 0, 0, Decimal("0.00")),
        }

    def expected_alerts(self) -> set[tuple[Any, ...]]:
        # (card, payment event id, payment time, window start, payments, amount, reasons)
        return {
            (self.card("one"), f"payment-{self.user('c')}-11", self.at(11), self.at(5), 4, Decimal("40.00"),
             ("more than 3 payments",)),
            (self.card("two"), f"payment-{self.user('c')}-35", self.at(35), self.at(30), 2, Decimal("1100.00"),
             ("more than 1000 in all",)),
        }


@dataclass
class SessionsJob:
    settings: Settings
    scenario: Scenario
    silver_topic: str
    alerts_topic: str
    args: list[str]
    job_id: str = ""

    def produce(self, events: list[dict[str, Any]]) -> None:
        """As the medallion job publishes silver: keyed by user, the event time as the Kafka timestamp."""
        producer = Producer({**client_config(self.settings, "admin"), "enable.idempotence": True})
        for event in events:
            millis = int(datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")).timestamp() * 1000)
            producer.produce(self.silver_topic, key=event["user_id"].encode(), value=json.dumps(event).encode(),
                             timestamp=millis)
        assert producer.flush(30) == 0

    def tick(self, minute: float = 180) -> None:
        """An event on every partition (the watermark is the slowest partition's): at 180 the watermark
        passes every scripted session's end and gap."""
        producer = Producer({**client_config(self.settings, "admin"), "enable.idempotence": True})
        event = self.scenario.event(minute, "tick", "page_view", page="/")
        millis = int(self.scenario.at(minute).timestamp() * 1000)
        for partition in range(self.settings.events_partitions):
            producer.produce(self.silver_topic, key=b"tick", value=json.dumps(event).encode(), partition=partition,
                             timestamp=millis)
        assert producer.flush(30) == 0


@pytest.fixture
def sessions_job(local_stack: Settings) -> Iterator[SessionsJob]:
    settings, scenario = local_stack, Scenario()
    silver, alerts = f"it-silver-{scenario.suffix}", f"it-alerts-{scenario.suffix}"
    for topic in (silver, alerts):
        ensure_topic(settings, topic, settings.events_partitions)
    args = ["--silver-topic", silver, "--alerts-topic", alerts, "--group-id", f"g-{silver}",
            "--job-name", f"sessions-{scenario.suffix}", "--session-gap-minutes", str(GAP_MINUTES),
            "--out-of-orderness-seconds", str(OUT_OF_ORDERNESS_SECONDS), "--idle-timeout-seconds", "0",
            "--max-payments", "3", "--max-amount", "1000", "--velocity-span-minutes", "10"]
    job = SessionsJob(settings, scenario, silver, alerts, args)
    job.job_id = submit(settings, "sessions", args)
    rest = FlinkRest(settings)
    rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    yield job
    if rest.job(job.job_id)["state"] == "RUNNING":
        rest.cancel(job.job_id)
    for topic in (silver, alerts):
        delete_topic(settings, topic)


def gold_sessions(job: SessionsJob) -> set[tuple[Any, ...]]:
    users = ", ".join(f"'{job.scenario.user(u)}'" for u in "abc")
    rows = query(job.settings, "SELECT user_id, session_start, session_end, events, page_views, cart_adds, orders, "
                               f"revenue FROM lakehouse.gold.sessions WHERE user_id IN ({users})")[1]
    assert len(rows) == len({tuple(r) for r in rows}), f"a session written twice: {rows}"
    return {tuple(r) for r in rows}


def gold_alerts(job: SessionsJob) -> set[tuple[Any, ...]]:
    cards = ", ".join(f"'{job.scenario.card(c)}'" for c in ("one", "two"))
    rows = query(job.settings, "SELECT card_token, payment_event_id, payment_time, window_start, payments, amount, "
                               f"reasons FROM lakehouse.gold.alerts WHERE card_token IN ({cards})")[1]
    assert len(rows) == len({tuple(r[:6]) for r in rows}), f"an alert written twice: {rows}"
    return {(*r[:6], tuple(r[6])) for r in rows}


def assert_exactly_the_expected(job: SessionsJob) -> None:
    scenario = job.scenario
    expected_sessions, expected_alerts = scenario.expected_sessions(), scenario.expected_alerts()
    got = wait_until(lambda: (found := gold_sessions(job)) and len(found) >= len(expected_sessions) and found,
                     timeout=300, interval=5, what="every scripted session in gold.sessions")
    assert got == expected_sessions
    got = wait_until(lambda: (found := gold_alerts(job)) and len(found) >= len(expected_alerts) and found,
                     timeout=120, interval=5, what="every scripted alert in gold.alerts")
    assert got == expected_alerts
    committed = read_committed(job.settings, job.alerts_topic, len(expected_alerts))
    published = [json.loads(value) for _, value, _ in committed]
    assert sorted(a["payment_event_id"] for a in published) == sorted(a[1] for a in expected_alerts)
    assert {(a["card_token"], a["payments"], Decimal(a["amount"])) for a in published} == {
        (a[0], a[4], a[5]) for a in expected_alerts}


def test_known_sessions_and_alerts_exactly(sessions_job: SessionsJob) -> None:
    sessions_job.produce(sessions_job.scenario.events())
    sessions_job.tick()
    assert_exactly_the_expected(sessions_job)
    assert_session_view_matches(sessions_job)


def assert_session_view_matches(job: SessionsJob) -> None:
    """analytics.session_stats_daily over the scripted sessions (the only closed ones in gold.sessions
    at this point of the session), computed here from the expected sessions."""
    from flowlake.views import create_views

    create_views(job.settings)
    by_day: dict[Any, list[tuple[Any, ...]]] = {}
    for session in job.scenario.expected_sessions():
        by_day.setdefault(session[1].date(), []).append(session)
    expected = {day: [len(s), len({x[0] for x in s}),
                      round(sum((x[2] - x[1]).total_seconds() for x in s) / len(s), 3),
                      round(sum(x[3] for x in s) / len(s), 3), sum(1 for x in s if x[6] > 0), sum(x[7] for x in s)]
                for day, s in by_day.items()}
    rows = query(job.settings, "SELECT day, sessions, users, avg_duration_seconds, avg_events, sessions_with_order, "
                               "revenue FROM lakehouse.analytics.session_stats_daily")[1]
    assert {r[0]: [r[1], r[2], float(r[3]), float(r[4]), r[5], r[6]] for r in rows} == expected


def test_a_savepoint_in_the_middle_of_open_sessions_changes_nothing(sessions_job: SessionsJob) -> None:
    job, rest = sessions_job, FlinkRest(sessions_job.settings)
    events = job.scenario.events()
    first, rest_of_them = events[:10], events[10:]
    job.produce(first)
    job.tick(20)
    # The first alert (card one, minute 11) needs the watermark past minute 11: once it is in the
    # alerts table the job has read the first part and holds every user's session open in its state.
    wait_until(lambda: len(gold_alerts(job)) == 1, timeout=180, interval=5, what="the first alert")
    assert gold_sessions(job) == set()
    savepoint = rest.stop_with_savepoint(job.job_id)
    job.produce(rest_of_them)
    job.job_id = submit(job.settings, "sessions", job.args, from_savepoint=savepoint)
    rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    job.tick()
    assert_exactly_the_expected(job)

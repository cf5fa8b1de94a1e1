"""`flowlake generate`: realistic JSON e-commerce events onto Kafka, through an idempotent producer."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from flowlake.clients.kafka import require_kafka
from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.kafka_security import CLIENT_LOG, client_config
from udfs.pii import luhn_ok

FIRST_NAMES = ("Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam")
LAST_NAMES = ("Schmidt", "Martin", "Smith", "Okafor", "Yilmaz", "Sato", "García", "Novak", "Kumar", "Dubois")
PRODUCTS = (("SKU-1001", "Espresso machine", "kitchen", 249.0), ("SKU-2002", "Headphones", "audio", 89.9),
            ("SKU-3003", "Running shoes", "sports", 120.0), ("SKU-4004", "Backpack", "bags", 59.5),
            ("SKU-5005", "Desk lamp", "home", 34.0), ("SKU-6006", "Coffee grinder", "kitchen", 79.0))
PAGES = ("/", "/search", "/product/SKU-1001", "/product/SKU-2002", "/cart", "/checkout", "/account")
# Support messages with the privacy intents they express (udfs.privacy; tests/unit/test_privacy.py checks
# the classifier agrees), in the four languages it reads; about a third make a request.
SUPPORT_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Hi, my order {order} has not arrived yet, can you check? You can reach me at {email}.", ()),
    ("Please call me back on {phone} about the refund for {order}.", ()),
    ("The package tracking number 1Z999AA10123456784 shows no movement since Monday.", ()),
    ("Thanks, everything arrived in good condition!", ()),
    ("I accidentally deleted my account, can you restore it? My email is {email}.", ()),
    ("How do I remove an item from my cart before paying for {order}?", ()),
    ("Bitte löschen Sie mein Konto nicht, ich warte noch auf {order}.", ()),
    ("¿Dónde está mi pedido {order}?", ()),
    ("Please delete my account and all personal data you hold on me ({email}).", ("ERASURE",)),
    ("Bitte löschen Sie alle meine Daten, Bestellung {order} ist die letzte.", ("ERASURE",)),
    ("What personal data do you have about me? Please send me a copy to {email}.", ("ACCESS",)),
    ("Quelles données personnelles détenez-vous sur moi ?", ("ACCESS",)),
    ("My surname is misspelled on my account, please correct it. Call {phone} if needed.", ("RECTIFICATION",)),
    ("Do not sell or share my personal information.", ("OPT_OUT",)),
    ("Quiero darme de baja del boletín, no quiero recibir más correos.", ("UNSUBSCRIBE",)),
    ("Delete my data and stop sending me emails. {email}", ("ERASURE", "UNSUBSCRIBE")),
)
EVENT_WEIGHTS = (("page_view", 6), ("add_to_cart", 3), ("order", 2), ("payment", 2), ("support_message", 1))
COUNTRIES = ("DE", "FR", "GB", "US", "IN", "NL", "ES")


def card_number(customer_number: int) -> str:
    """A Visa-shaped, Luhn-valid card number of one customer (test range, never a real card)."""
    digits = f"4000{customer_number:011d}"
    number = next(digits + check for check in "0123456789" if luhn_ok(digits + check))
    return " ".join(number[i:i + 4] for i in range(0, 16, 4))


def _customer(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    number = rng.randrange(1, 5000)
    return {
        "card_number": card_number(number),
        "user_id": f"U{number:05d}",
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{number}@example.com".replace("é", "e").replace("í", "i"),
        "phone": f"+4915{rng.randrange(10**8, 10**9)}",
    }


def privacy_intents(message: str) -> tuple[str, ...]:
    """The privacy intents a generated support message was written with."""
    for template, intents in SUPPORT_TEXTS:
        pattern = re.sub(r"\\\{(?:order|email|phone)\\\}", ".+", re.escape(template))
        if re.fullmatch(pattern, message, re.DOTALL):
            return intents
    raise ValueError(f"not a generated support message: {message!r}")


def pay_open_order(event: dict[str, object], unpaid: deque[str]) -> None:
    """A payment pays the oldest valid order generated and not yet paid, or pays the newest one again (a
    second attempt) when all are paid: payments refer to orders, as the referential table check expects
    (iceberg/quality.toml). Only payments before the first order refer to none."""
    if event["event_type"] == "order":
        unpaid.append(str(event["order_id"]))
    elif event["event_type"] == "payment" and unpaid:
        event["order_id"] = unpaid.popleft() if len(unpaid) > 1 else unpaid[0]


def make_event(rng: random.Random, now: datetime) -> dict[str, object]:
    event_type = rng.choices([k for k, _ in EVENT_WEIGHTS], [w for _, w in EVENT_WEIGHTS])[0]
    customer = _customer(rng)
    event: dict[str, object] = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "event_time": (now - timedelta(milliseconds=rng.randrange(0, 5000))).isoformat(timespec="milliseconds"),
        "user_id": customer["user_id"],
        "country": rng.choice(COUNTRIES),
    }
    order_id = f"ORD-{rng.randrange(10**7, 10**8)}"
    if event_type == "add_to_cart":
        sku, _name, _category, price = rng.choice(PRODUCTS)
        event.update(sku=sku, quantity=rng.randrange(1, 4), unit_price=price, session_id=f"S{rng.getrandbits(48):012x}")
    elif event_type == "order":
        picked = [(product, rng.randrange(1, 4)) for product in rng.sample(PRODUCTS, rng.choice((1, 1, 1, 2, 2, 3)))]
        lines = [{"sku": sku, "name": name, "category": category, "quantity": quantity, "unit_price": price}
                 for (sku, name, category, price), quantity in picked]
        total = round(sum(quantity * price for (*_, price), quantity in picked), 2)
        event.update(order_id=order_id, items=lines, total=total, currency="EUR", email=customer["email"],
                     shipping_name=customer["name"])
    elif event_type == "payment":
        event.update(order_id=order_id, amount=round(rng.uniform(5, 500), 2), currency="EUR",
                     method=rng.choice(("card", "paypal", "sepa")), card_number=customer["card_number"])
    elif event_type == "page_view":
        event.update(page=rng.choice(PAGES), session_id=f"S{rng.getrandbits(48):012x}",
                     ip_address=f"203.0.113.{rng.randrange(1, 255)}", user_agent="Mozilla/5.0")
    else:
        text = rng.choice(SUPPORT_TEXTS)[0].format(order=order_id, email=customer["email"], phone=customer["phone"])
        event.update(channel=rng.choice(("email", "chat")), message=text)
    return event


def events(seed: int | None = None) -> Iterator[tuple[str, dict[str, object]]]:
    rng = random.Random(seed)
    unpaid: deque[str] = deque(maxlen=10_000)
    while True:
        event = make_event(rng, datetime.now(UTC))
        pay_open_order(event, unpaid)
        yield str(event["user_id"]), event


@dataclass(frozen=True)
class Mix:
    """Fractions of records that are not plain valid events. Bad records fail validation (one
    kind each, see BAD_KINDS); duplicates repeat an earlier event id; late events carry an event
    time `late_seconds` in the past."""

    bad: float = 0.0
    duplicates: float = 0.0
    late: float = 0.0
    late_seconds: int = 600

    def __post_init__(self) -> None:
        if min(self.bad, self.duplicates, self.late) < 0 or self.bad + self.duplicates + self.late > 1:
            raise FlowlakeError("bad, duplicate and late fractions must be >= 0 and add up to at most 1")


BAD_KINDS = ("malformed_json", "missing_field", "wrong_type", "out_of_range", "far_future", "not_utf8",
             "unknown_type")


def _bad_payload(kind: str, event: dict[str, object], now: datetime) -> bytes:
    broken = dict(event)
    if kind == "malformed_json":
        return json.dumps(event).encode()[:-7]
    if kind == "not_utf8":
        return b"\xff\xfe" + json.dumps(event).encode()
    if kind == "missing_field":
        del broken["event_id"]
    elif kind == "wrong_type":
        broken["user_id"] = 12345
    elif kind == "out_of_range":
        broken.update(event_type="add_to_cart", sku="SKU-1001", quantity=0, unit_price=1.0)  # quantity min is 1
    elif kind == "far_future":
        broken["event_time"] = (now + timedelta(days=30)).isoformat(timespec="milliseconds")
    elif kind == "unknown_type":
        broken["event_type"] = "refund"
    return json.dumps(broken).encode()


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class SteppingClock:
    """Event time that starts at `start` and moves `step` ahead per event: lets tests lay out hours
    of event time in seconds, and keep it increasing across test runs on one topic."""

    start: datetime
    step: timedelta = timedelta(milliseconds=50)

    def __call__(self) -> datetime:
        now = self.start
        self.start += self.step
        return now


def records(seed: int | None = None, mix: Mix = Mix(),
            clock: Callable[[], datetime] = wall_clock) -> Iterator[tuple[str, bytes, str]]:
    """(key, payload, label) with label "valid", "late", "duplicate" or "bad:<kind>". Event times
    come from `clock` (minus up to 5 s of jitter); late events are `mix.late_seconds` behind it."""
    rng = random.Random(seed)
    seen: list[dict[str, object]] = []
    unpaid: deque[str] = deque(maxlen=10_000)
    while True:
        now = clock()
        roll = rng.random()
        if roll < mix.duplicates and seen:
            event, label = dict(rng.choice(seen)), "duplicate"
        else:
            event = make_event(rng, now)
            label = "valid"
            # A duplicate's roll with nothing seen yet gives a plain valid event, not a late one.
            if mix.duplicates <= roll < mix.duplicates + mix.late:
                event["event_time"] = (now - timedelta(seconds=mix.late_seconds)).isoformat(timespec="milliseconds")
                label = "late"
            elif mix.duplicates + mix.late <= roll < mix.duplicates + mix.late + mix.bad:
                kind = rng.choice(BAD_KINDS)
                yield str(event["user_id"]), _bad_payload(kind, event, now), f"bad:{kind}"
                continue
            pay_open_order(event, unpaid)
            if len(seen) < 10_000:
                seen.append(event)
        yield str(event["user_id"]), json.dumps(event).encode(), label


class _KafkaOut:
    """Kafka: an idempotent producer (acks=all), records keyed by user."""

    def __init__(self, settings: Settings, topic: str) -> None:
        require_kafka(settings)
        self.where = f"Kafka at {settings.kafka_bootstrap}"
        self.topic = topic
        # As the `producer` principal: it may write the events topic (and the input topics of ingest jobs
        # submitted with another --topic), nothing else.
        self.producer = Producer({**client_config(settings, "producer"), "enable.idempotence": True,
                                  "acks": "all", "linger.ms": 20, "compression.type": "lz4",
                                  "logger": CLIENT_LOG})

    def send(self, key: str, payload: bytes, done: Callable[[str | None], None]) -> None:
        def callback(err: object, _msg: object) -> None:
            done(None if err is None else str(err))

        while True:
            try:
                self.producer.produce(self.topic, key=key.encode(), value=payload, on_delivery=callback)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)

    def flush(self) -> int:
        return int(self.producer.flush(60))


class _PulsarOut:
    """Pulsar: a named producer on a partitioned topic (the broker deduplicates its retries),
    messages keyed by user."""

    def __init__(self, settings: Settings, topic: str) -> None:
        import pulsar

        from flowlake.clients.pulsar import client, require_pulsar, topic_url

        require_pulsar(settings)
        self.where = f"Pulsar at {settings.pulsar_service_url}"
        self.ok = pulsar.Result.Ok
        self.client = client(settings)
        self.producer = self.client.create_producer(
            topic_url(topic), producer_name=f"flowlake-generate-{uuid.uuid4().hex[:12]}", block_if_queue_full=True,
            batching_max_publish_delay_ms=20, compression_type=pulsar.CompressionType.LZ4)

    def send(self, key: str, payload: bytes, done: Callable[[str | None], None]) -> None:
        self.producer.send_async(payload, lambda result, _id: done(None if result == self.ok else str(result)),
                                 partition_key=key)

    def flush(self) -> int:
        self.producer.flush()
        self.client.close()
        return 0


def generate(settings: Settings, count: int | None, rate: float | None, duration: float | None,
             topic: str | None = None, seed: int | None = None, mix: Mix = Mix(),
             clock: Callable[[], datetime] = wall_clock,
             keep: list[tuple[str, bytes, str]] | None = None, broker: str = "kafka",
             stop: threading.Event | None = None) -> Counter[str]:
    """Produce `count` records, or `rate` records/s for `duration` seconds, to Kafka or Pulsar; sooner if
    `stop` is set. Returns how many of each label (see `records`) were delivered."""
    if count is None and (rate is None or duration is None):
        raise FlowlakeError("give --count N, or --rate R with --duration SECONDS")
    total = count if count is not None else int(rate * duration)  # type: ignore[operator]
    out = (_PulsarOut if broker == "pulsar" else _KafkaOut)(settings, topic or settings.events_topic)
    failures: list[str] = []
    delivered: Counter[str] = Counter()

    def on_delivery(label: str) -> Callable[[str | None], None]:
        def done(error: str | None) -> None:
            if error is not None:
                failures.append(error)
            else:
                delivered[label] += 1
        return done

    started = time.monotonic()
    with Progress(TextColumn("producing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("produce", total=total)
        for i, (key, payload, label) in enumerate(records(seed, mix, clock)):
            if i >= total or (stop is not None and stop.is_set()):
                break
            if keep is not None:
                keep.append((key, payload, label))
            if rate:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            out.send(key, payload, on_delivery(label))
            bar.update(task, completed=i + 1)
        remaining = out.flush()
    if failures or remaining:
        raise FlowlakeError(f"{len(failures)} events failed and {remaining} were still queued after 60 s "
                            f"(first error: {failures[:1]}): is {out.where} healthy?")
    return delivered

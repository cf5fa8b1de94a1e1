"""Sessions per user and velocity alerts per card, over the silver event stream: the pure logic of
the keyed functions of the sessions job (flink_jobs/sessions.py, wrappers in udfs/flink_sessions.py).

A keyed function buffers each key's events until the watermark has passed them, then applies them
here in event-time order: events that arrive out of order inside the watermark bound give the same
sessions and alerts as events in order. Standard library only, like the rest of udfs/."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Event:
    """What the sessions job needs of one silver event."""

    user_id: str
    time_ms: int
    event_id: str
    event_type: str
    amount_cents: int = 0  # an order's total or a payment's amount
    card_token: str | None = None  # payments by card only

    @property
    def order_key(self) -> tuple[int, str]:
        return self.time_ms, self.event_id


def parse_event(record: str | bytes) -> Event | None:
    """An Event from a silver record (the masked JSON the medallion job publishes), or None for a
    record without user, id, type or a UTC event time (silver has none such; kept safe anyway)."""
    try:
        data = json.loads(record)
        time = datetime.fromisoformat(str(data["event_time"]).replace("Z", "+00:00"))
        user_id, event_id, event_type = str(data["user_id"]), str(data["event_id"]), str(data["event_type"])
        amount = data.get("total") if event_type == "order" else data.get("amount")
        cents = int(Decimal(str(amount)) * 100) if isinstance(amount, int | float) else 0
    except (ValueError, TypeError, KeyError, ArithmeticError):
        return None
    if time.utcoffset() is None:
        return None
    card = data.get("card_token") if event_type == "payment" else None
    return Event(user_id, int(time.timestamp() * 1000), event_id, event_type, cents,
                 card if isinstance(card, str) and card else None)


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    start_ms: int
    end_ms: int  # time of the last event
    events: int = 1
    page_views: int = 0
    cart_adds: int = 0
    orders: int = 0
    revenue_cents: int = 0

    @property
    def session_id(self) -> str:
        """Deterministic: a replay after a failure writes the same id."""
        return f"{self.user_id}-{self.start_ms}"

    def add(self, event: Event) -> Session:
        kind, is_order = event.event_type, event.event_type == "order"
        return Session(self.user_id, self.start_ms, max(self.end_ms, event.time_ms), self.events + 1,
                       self.page_views + (kind == "page_view"), self.cart_adds + (kind == "add_to_cart"),
                       self.orders + is_order, self.revenue_cents + (event.amount_cents if is_order else 0))


def _start(event: Event) -> Session:
    return Session(event.user_id, event.time_ms, event.time_ms, events=0).add(event)


def advance_sessions(session: Session | None, events: Iterable[Event], watermark_ms: int,
                     gap_ms: int) -> tuple[Session | None, list[Session]]:
    """Apply one user's events (all at or before the watermark) in event-time order to the open
    session; return the session still open and the sessions closed: by an event more than `gap_ms`
    after the last one, or by the watermark passing the last event + `gap_ms`."""
    closed: list[Session] = []
    for event in sorted(events, key=lambda e: e.order_key):
        if session is None:
            session = _start(event)
        elif event.time_ms - session.end_ms > gap_ms:
            closed.append(session)
            session = _start(event)
        else:
            session = session.add(event)
    if session is not None and watermark_ms >= session.end_ms + gap_ms:
        closed.append(session)
        session = None
    return session, closed


@dataclass(frozen=True, slots=True)
class VelocityRule:
    """Alert when a card makes more than `max_payments`, or more than `max_amount_cents` in all,
    within any `span_ms` (the payment itself and those less than `span_ms` before it)."""

    max_payments: int
    max_amount_cents: int
    span_ms: int


@dataclass(frozen=True, slots=True)
class Alert:
    card_token: str
    user_id: str
    payment_event_id: str
    time_ms: int  # the payment that crossed a limit
    window_start_ms: int  # its earliest payment inside the span
    payments: int
    amount_cents: int
    reasons: tuple[str, ...]

    @property
    def alert_id(self) -> str:
        return f"velocity-{self.payment_event_id}"

    def to_json(self) -> str:
        return json.dumps({"alert_id": self.alert_id, "rule": "velocity", "card_token": self.card_token,
                           "user_id": self.user_id, "payment_event_id": self.payment_event_id,
                           "time_ms": self.time_ms, "window_start_ms": self.window_start_ms,
                           "payments": self.payments, "amount": str(Decimal(self.amount_cents) / 100),
                           "reasons": list(self.reasons)}, separators=(",", ":"))


Recent = tuple[tuple[int, int], ...]  # (time_ms, amount_cents) of a card's payments within the span


def advance_velocity(recent: Recent, payments: Iterable[Event], rule: VelocityRule) -> tuple[Recent, list[Alert]]:
    """Apply one card's payments in event-time order: each one that leaves the card over a limit
    within the span gives an alert. Returns the payments still inside the span of the last one."""
    alerts: list[Alert] = []
    window = list(recent)
    for payment in sorted(payments, key=lambda e: e.order_key):
        window = [p for p in window if p[0] > payment.time_ms - rule.span_ms]
        window.append((payment.time_ms, payment.amount_cents))
        count, amount = len(window), sum(cents for _, cents in window)
        reasons = ((f"more than {rule.max_payments} payments",) if count > rule.max_payments else ()) + (
            (f"more than {Decimal(rule.max_amount_cents) / 100} in all",) if amount > rule.max_amount_cents else ())
        if reasons and payment.card_token:
            alerts.append(Alert(payment.card_token, payment.user_id, payment.event_id, payment.time_ms,
                                min(t for t, _ in window), count, amount, reasons))
    return tuple(window), alerts

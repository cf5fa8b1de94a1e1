from __future__ import annotations

import json
import random

from udfs.sessions import (
    Event,
    Session,
    VelocityRule,
    advance_sessions,
    advance_velocity,
    parse_event,
)

MIN = 60_000
GAP = 30 * MIN


def ev(minute: float, event_type: str = "page_view", user: str = "U1", cents: int = 0, card: str | None = None,
       event_id: str | None = None) -> Event:
    return Event(user, int(minute * MIN), event_id or f"e{minute}", event_type, cents, card)


def due(pending: list[Event], watermark_ms: int) -> tuple[list[Event], list[Event]]:
    """(events the watermark has passed, events still ahead of it): what the Flink function releases."""
    return [e for e in pending if e.time_ms <= watermark_ms], [e for e in pending if e.time_ms > watermark_ms]


def test_a_gap_longer_than_the_limit_starts_a_new_session() -> None:
    events = [ev(0), ev(5, "add_to_cart"), ev(10, "order", cents=2599), ev(50)]
    open_session, closed = advance_sessions(None, events, watermark_ms=50 * MIN, gap_ms=GAP)
    assert closed == [Session("U1", 0, 10 * MIN, events=3, page_views=1, cart_adds=1, orders=1, revenue_cents=2599)]
    assert open_session == Session("U1", 50 * MIN, 50 * MIN, events=1, page_views=1)


def test_the_watermark_closes_a_session_once_the_gap_has_passed() -> None:
    open_session, closed = advance_sessions(None, [ev(0)], watermark_ms=GAP - 1, gap_ms=GAP)
    assert closed == [] and open_session is not None
    open_session, closed = advance_sessions(open_session, [], watermark_ms=GAP, gap_ms=GAP)
    assert open_session is None and [s.end_ms for s in closed] == [0]


def test_an_event_exactly_one_gap_later_extends_the_session() -> None:
    open_session, closed = advance_sessions(None, [ev(0), ev(30)], watermark_ms=30 * MIN, gap_ms=GAP)
    assert closed == [] and open_session is not None and open_session.events == 2


def test_out_of_order_arrival_inside_the_watermark_bound_gives_the_same_sessions() -> None:
    rng = random.Random(7)
    bound = 3 * MIN  # what the watermark lags behind the newest event seen
    events = [ev(rng.uniform(0, 2000), rng.choice(("page_view", "add_to_cart", "order")), cents=100)
              for _ in range(80)]
    _, in_order = advance_sessions(None, events, watermark_ms=10**12, gap_ms=GAP)
    # Each event arrives up to `bound` behind its time, so none is ever behind the watermark.
    arrivals = sorted(events, key=lambda e: e.time_ms + rng.randrange(bound))
    session, closed, pending, newest = None, [], [], 0
    for event in arrivals:
        pending.append(event)
        newest = max(newest, event.time_ms)
        watermark = newest - bound
        ready, pending = due(pending, watermark)
        session, more = advance_sessions(session, ready, watermark, GAP)
        closed += more
    session, more = advance_sessions(session, pending, 10**12, GAP)
    assert session is None and closed + more == in_order and len(in_order) > 3


def test_parse_event_reads_silver_records() -> None:
    order = {"event_id": "o1", "event_type": "order", "event_time": "2026-11-22T10:00:00.250Z", "user_id": "U7",
             "total": 259.9, "currency": "EUR"}
    assert parse_event(json.dumps(order)) == Event("U7", 1795341600250, "o1", "order", 25990)
    payment = {"event_id": "p1", "event_type": "payment", "event_time": "2026-11-22T10:00:00.000+00:00",
               "user_id": "U7", "amount": 12.3, "card_token": "<CREDIT_CARD#abc>"}
    assert parse_event(json.dumps(payment)) == Event("U7", 1795341600000, "p1", "payment", 1230, "<CREDIT_CARD#abc>")
    assert parse_event("not json") is None
    assert parse_event(json.dumps({**order, "event_time": "2026-11-22T10:00:00"})) is None  # no zone


RULE = VelocityRule(max_payments=3, max_amount_cents=100_000, span_ms=10 * MIN)


def pay(minute: float, cents: int = 1000, card: str = "C1") -> Event:
    return ev(minute, "payment", cents=cents, card=card, event_id=f"p{minute}")


def test_more_payments_than_allowed_within_the_span_alert() -> None:
    recent, alerts = advance_velocity((), [pay(0), pay(3), pay(6), pay(9), pay(9.5)], RULE)
    assert [(a.payment_event_id, a.payments, a.window_start_ms) for a in alerts] == [
        ("p9", 4, 0), ("p9.5", 5, 0)]
    assert alerts[0].reasons == ("more than 3 payments",) and alerts[0].alert_id == "velocity-p9"
    assert len(recent) == 5


def test_payments_spread_wider_than_the_span_do_not_alert() -> None:
    recent, alerts = advance_velocity((), [pay(0), pay(4), pay(8), pay(10), pay(14)], RULE)
    assert alerts == []  # the one at 10 no longer sees the one at 0: the span is half-open
    assert [t for t, _ in recent] == [8 * MIN, 10 * MIN, 14 * MIN]


def test_a_large_amount_alerts_and_state_carries_across_calls() -> None:
    recent, alerts = advance_velocity((), [pay(0, 60_000)], RULE)
    assert alerts == []
    recent, alerts = advance_velocity(recent, [pay(5, 50_000)], RULE)
    assert [a.reasons for a in alerts] == [("more than 1000 in all",)] and alerts[0].amount_cents == 110_000
    assert json.loads(alerts[0].to_json())["amount"] == "1100"

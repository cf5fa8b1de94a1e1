"""PyFlink keyed functions of the sessions job around the pure logic in udfs.sessions. Job
environment only (imports pyflink).

Both functions buffer each key's events in state and register an event-time timer per event; when
the watermark passes a timer, the events at or before it are applied in event-time order. Events
that arrive behind the watermark (later than the source's out-of-orderness bound) are counted in
the `flowlake.late_events` metric and left out. All keyed state has a TTL (processing time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyflink.common import Row, Time, Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, StateTtlConfig, ValueStateDescriptor

from udfs.sessions import Event, Session, VelocityRule, advance_sessions, advance_velocity

SESSION_ROW = Types.ROW_NAMED(
    ["session_id", "user_id", "start_ms", "end_ms", "events", "page_views", "cart_adds", "orders", "revenue_cents"],
    [Types.STRING(), Types.STRING(), Types.LONG(), Types.LONG(), Types.LONG(), Types.LONG(), Types.LONG(),
     Types.LONG(), Types.LONG()])
ALERT_ROW = Types.ROW_NAMED(
    ["alert_id", "card_token", "user_id", "payment_event_id", "time_ms", "window_start_ms", "payments",
     "amount_cents", "reasons", "json"],
    [Types.STRING(), Types.STRING(), Types.STRING(), Types.STRING(), Types.LONG(), Types.LONG(), Types.LONG(),
     Types.LONG(), Types.BASIC_ARRAY(Types.STRING()), Types.STRING()])


def _ttl(hours: float) -> StateTtlConfig:
    return (StateTtlConfig.new_builder(Time.milliseconds(int(hours * 3_600_000)))
            .set_update_type(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .build())


class _InEventTimeOrder(KeyedProcessFunction):  # type: ignore[misc]
    """Buffers a key's events until the watermark passes them; subclasses apply them in order."""

    def __init__(self, state_ttl_hours: float) -> None:
        self.state_ttl_hours = state_ttl_hours

    def open(self, runtime_context: RuntimeContext) -> None:
        pending = MapStateDescriptor("pending", Types.LONG(), Types.PICKLED_BYTE_ARRAY())  # time -> [Event]
        pending.enable_time_to_live(_ttl(self.state_ttl_hours))
        self.pending = runtime_context.get_map_state(pending)
        self.late = self.counter(runtime_context, "late_events")
        self.open_state(runtime_context)

    def open_state(self, runtime_context: RuntimeContext) -> None:
        raise NotImplementedError

    def value_state(self, runtime_context: RuntimeContext, name: str) -> Any:
        """A ValueState of any picklable value, with the function's TTL."""
        descriptor = ValueStateDescriptor(name, Types.PICKLED_BYTE_ARRAY())
        descriptor.enable_time_to_live(_ttl(self.state_ttl_hours))
        return runtime_context.get_state(descriptor)

    @staticmethod
    def counter(runtime_context: RuntimeContext, name: str) -> Any:
        return runtime_context.get_metrics_group().add_group("flowlake").counter(name)

    def process_element(self, value: Event, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        if value.time_ms <= ctx.timer_service().current_watermark():
            self.late.inc()
            return iter(())
        bucket = self.pending.get(value.time_ms) or []
        self.pending.put(value.time_ms, [*bucket, value])
        ctx.timer_service().register_event_time_timer(value.time_ms)
        return iter(())

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        times = [t for t in self.pending.keys() if t <= timestamp]
        ready = [event for t in times for event in self.pending.get(t)]
        for t in times:
            self.pending.remove(t)
        yield from self.apply(ready, timestamp, ctx)

    def apply(self, events: list[Event], watermark_ms: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        raise NotImplementedError


class Sessionize(_InEventTimeOrder):
    """Keyed by user_id: one SESSION_ROW per closed session."""

    def __init__(self, gap_ms: int, state_ttl_hours: float) -> None:
        super().__init__(state_ttl_hours)
        self.gap_ms = gap_ms

    def open_state(self, runtime_context: RuntimeContext) -> None:
        self.session = self.value_state(runtime_context, "session")
        self.closed = self.counter(runtime_context, "sessions_closed")

    def apply(self, events: list[Event], watermark_ms: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Row]:
        still_open, closed = advance_sessions(self.session.value(), events, watermark_ms, self.gap_ms)
        if still_open is None:
            self.session.clear()
        else:
            self.session.update(still_open)
            ctx.timer_service().register_event_time_timer(still_open.end_ms + self.gap_ms)
        for session in closed:
            self.closed.inc()
            yield _session_row(session)


def _session_row(s: Session) -> Row:
    return Row(s.session_id, s.user_id, s.start_ms, s.end_ms, s.events, s.page_views, s.cart_adds, s.orders,
               s.revenue_cents)


class CardVelocity(_InEventTimeOrder):
    """Keyed by card token: one ALERT_ROW per payment that leaves its card over a limit."""

    def __init__(self, rule: VelocityRule, state_ttl_hours: float) -> None:
        super().__init__(state_ttl_hours)
        self.rule = rule

    def open_state(self, runtime_context: RuntimeContext) -> None:
        self.recent = self.value_state(runtime_context, "recent_payments")
        self.alerts = self.counter(runtime_context, "velocity_alerts")

    def apply(self, events: list[Event], watermark_ms: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Row]:
        recent, alerts = advance_velocity(self.recent.value() or (), events, self.rule)
        self.recent.update(recent)
        for alert in alerts:
            self.alerts.inc()
            yield Row(alert.alert_id, alert.card_token, alert.user_id, alert.payment_event_id, alert.time_ms,
                      alert.window_start_ms, alert.payments, alert.amount_cents, list(alert.reasons), alert.to_json())

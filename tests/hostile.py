"""A corpus of hostile records: what a broken or malicious producer can put on the events topic. Each
entry names what validation must say: "valid" (stored, masked, in silver) or the rule id of the first
failure (quarantined with that reason). Used by the unit tests (the pure code) and by the integration
test (through Kafka and the Flink job)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Hostile:
    name: str
    payload: bytes | None
    expect: str  # "valid" or the first failure's rule id

    @property
    def valid(self) -> bool:
        return self.expect == "valid"


def _order(at: datetime, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order",
        "event_time": at.isoformat(timespec="milliseconds"),
        "user_id": "U00042",
        "country": "DE",
        "order_id": "ORD-00000042",
        "items": [{"sku": "SKU-0001", "name": "Kettle", "category": "kitchen", "quantity": 1, "unit_price": 30.0}],
        "total": 30.0,
        "currency": "EUR",
        "email": "hostile@example.com",
    }
    event.update(changes)
    return event


def _view(at: datetime, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "event_time": at.isoformat(timespec="milliseconds"),
        "user_id": "U00042",
        "country": "DE",
        "page": "/home",
        "session_id": "s-1",
    }
    event.update(changes)
    return event


def _message(at: datetime, text: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "support_message",
        "event_time": at.isoformat(timespec="milliseconds"),
        "user_id": "U00042",
        "channel": "chat",
        "message": text,
    }


def _raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def corpus(at: datetime) -> list[Hostile]:
    """Every entry once; event times from `at` on, a millisecond apart."""
    t = iter(at + timedelta(milliseconds=i) for i in range(10_000))
    view = _raw(_view(next(t)))
    entries = [
        # Broken JSON.
        Hostile("truncated", view[: len(view) // 2], "payload.json"),
        Hostile("empty", b"", "payload.json"),
        Hostile("no value (tombstone)", None, "payload.missing"),
        Hostile("byte order mark", b"\xef\xbb\xbf" + _raw(_view(next(t))), "payload.json"),
        Hostile("deeply nested array", b"[" * 30_000 + b"]" * 30_000, "payload.json"),
        Hostile(
            "deeply nested field",
            _raw(_view(next(t)))[:-1] + b', "x": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"}",
            "payload.json",
        ),
        Hostile(
            "raw control character", _raw(_view(next(t), page="/a")).replace(b'"/a"', b'"/a\x01b"'), "payload.json"
        ),
        Hostile("top-level array", b"[1, 2, 3]", "payload.object"),
        Hostile("top-level string", b'"event"', "payload.object"),
        Hostile("top-level null", b"null", "payload.object"),
        Hostile(
            "duplicate key",
            _raw(_view(next(t))).replace(b'"event_type"', b'"event_id": "x", "event_type"', 1),
            "payload.duplicate_key",
        ),
        # Encodings.
        Hostile("invalid UTF-8", _raw(_view(next(t), page="/PAGE")).replace(b"PAGE", b"\xff\xfe"), "payload.encoding"),
        Hostile("overlong UTF-8", _raw(_view(next(t), page="/PAGE")).replace(b"PAGE", b"\xc0\xaf"), "payload.encoding"),
        Hostile(
            "truncated UTF-8", _raw(_view(next(t), page="/PAGE")).replace(b"PAGE", b"\xe2\x82"), "payload.encoding"
        ),
        Hostile(
            "lone surrogate escape", _raw(_view(next(t), page="/PAGE")).replace(b"PAGE", b"\\ud800"), "payload.encoding"
        ),
        Hostile(
            "surrogate pair escape (an emoji)",
            _raw(_view(next(t), page="/PAGE")).replace(b"PAGE", b"\\ud83d\\ude00"),
            "valid",
        ),
        Hostile("escaped NUL in free text", _raw(_message(next(t), "hello\u0000world")), "valid"),
        # Wrong types and numbers.
        Hostile("event_id a number", _raw(_view(next(t), event_id=12345)), "common.event_id.type"),
        Hostile("event_time an object", _raw(_view(next(t), event_time={"s": 1})), "common.event_time.type"),
        Hostile("total a string", _raw(_order(next(t), total="30.00")), "order.total.type"),
        Hostile("items a string", _raw(_order(next(t), items="SKU-0001")), "order.items.type"),
        Hostile(
            "quantity a float",
            _raw(_order(next(t), items=[{"sku": "SKU-0001", "category": "kitchen", "quantity": 1.5, "unit_price": 3}])),
            "order.items[].quantity.type",
        ),
        Hostile("user_id a list", _raw(_view(next(t), user_id=["U00042"])), "common.user_id.type"),
        Hostile("NaN total", _raw(_order(next(t))).replace(b'"total": 30.0', b'"total": NaN'), "order.total.type"),
        Hostile(
            "Infinity total", _raw(_order(next(t))).replace(b'"total": 30.0', b'"total": Infinity'), "order.total.type"
        ),
        Hostile(
            "overflowing total", _raw(_order(next(t))).replace(b'"total": 30.0', b'"total": 1e999'), "order.total.type"
        ),
        Hostile(
            "huge integer",
            _raw(_order(next(t))).replace(b'"quantity": 1', b'"quantity": ' + b"9" * 400),
            "order.items[].quantity.max",
        ),
        # Sizes.
        Hostile("huge payload", _raw(_message(next(t), "x" * 70_000)), "payload.size"),
        Hostile("huge string", _raw(_message(next(t), "y" * 60_000)), "support_message.message.max_length"),
        Hostile(
            "huge array",
            _raw(_order(next(t), items=[{"sku": "SKU-0001", "category": "k", "quantity": 1, "unit_price": 1}] * 800)),
            "order.items.max_items",
        ),
        # Time.
        Hostile(
            "leap second",
            _raw(_view(next(t))).replace(b'"event_time": "', b'"event_time": "2016-12-31T23:59:60Z", "x": "', 1),
            "common.event_time.format",
        ),
        Hostile("not UTC", _raw(_view(next(t), event_time="2026-01-01T12:00:00+02:00")), "common.event_time.format"),
        Hostile("year 9999", _raw(_view(next(t), event_time="9999-12-31T23:59:59Z")), "common.event_time.future"),
        # Unicode look-alikes and anchors.
        Hostile(
            "confusable email (Cyrillic a, o)",
            _raw(_order(next(t), email="j\u043ehn@ex\u0430mple.com")),
            "order.email.pii",
        ),
        Hostile(
            "Arabic-Indic digits in user_id",
            _raw(_view(next(t), user_id="U\u0661\u0662\u0663\u0664\u0665")),
            "common.user_id.regex",
        ),
        Hostile("newline after user_id", _raw(_view(next(t), user_id="U00042\n")), "common.user_id.regex"),
        Hostile(
            "unknown event type", _raw(_view(next(t), event_type="'; DROP TABLE x; --")), "common.event_type.unknown"
        ),
        # Injection strings are data: stored and shown as sent, never executed.
        Hostile(
            "SQL injection in a page", _raw(_view(next(t), page="/'; DROP TABLE lakehouse.bronze.events; --")), "valid"
        ),
        Hostile(
            "HTML in a support message",
            _raw(_message(next(t), "<script>alert('x')</script><img src=x onerror=1>")),
            "valid",
        ),
        Hostile("Trino escapes in a session id", _raw(_view(next(t), session_id='" OR 1=1 --\\u0027')), "valid"),
        Hostile("right-to-left override in free text", _raw(_message(next(t), "refund \u202egnp.exe")), "valid"),
    ]
    return entries

"""What silver receives: valid records with PII masked by field policy, nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest

from flowlake.generate import events
from udfs.masking import HASH_KEY_ENV, MissingHashKey
from udfs.pii import detect
from udfs.records import check_event, needs_hash_key

KEY = b"test-key"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ORDER = {
    "event_id": "550e8400-e29b-41d4-a716-446655440000", "event_type": "order",
    "event_time": "2026-11-22T11:59:00.000Z", "user_id": "U00042", "country": "DE",
    "order_id": "ORD-12345678",
    "items": [{"sku": "SKU-1001", "name": "Gift for anna@example.org", "category": "kitchen", "quantity": 1,
               "unit_price": 10.5, "note": "unlisted"}],
    "total": 10.5, "currency": "EUR", "email": "Anna@Example.com", "shipping_name": "Anna Schmidt",
    "tracking_cookie": "xyz",
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def test_structured_fields_are_masked_by_policy_and_free_text_is_scanned() -> None:
    checked = check_event(json.dumps(ORDER).encode(), NOW, KEY)
    assert checked.valid and checked.event_type == "order" and checked.failures == []
    record = json.loads(checked.record or "")
    assert record["email"].startswith("<EMAIL_ADDRESS#")
    assert record["shipping_name"].startswith("<PERSON#")
    assert record["items"] == [{"sku": "SKU-1001", "name": "Gift for <EMAIL_ADDRESS>", "category": "kitchen",
                                "quantity": 1, "unit_price": 10.5}]  # order lines keep their listed fields
    assert "tracking_cookie" not in record  # silver keeps the fields the rules name
    assert record["total"] == 10.5 and record["order_id"] == "ORD-12345678"
    assert sorted(checked.findings) == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "PERSON"]


def test_hash_tokens_are_deterministic_so_joins_still_work() -> None:
    other = {**ORDER, "event_id": "650e8400-e29b-41d4-a716-446655440000", "email": "ANNA@example.COM"}
    first = json.loads(check_event(json.dumps(ORDER), NOW, KEY).record or "")
    second = json.loads(check_event(json.dumps(other), NOW, KEY).record or "")
    assert first["email"] == second["email"]  # the same address, written differently
    third = json.loads(check_event(json.dumps(ORDER), NOW, b"another-key").record or "")
    assert third["email"] != first["email"]


def test_card_numbers_keep_their_last_four() -> None:
    payment = {**{k: ORDER[k] for k in ("event_id", "event_time", "user_id", "country", "order_id", "currency")},
               "event_type": "payment", "amount": 10.5, "method": "card"}

    def silver(card: str) -> dict[str, str]:
        return json.loads(check_event(json.dumps({**payment, "card_number": card}), NOW, KEY).record or "")

    record = silver("4111 1111 1111 1111")
    assert record["card_number"] == "**** **** **** 1111"
    # ... and a keyed token of the whole number: the same card written without spaces gives the
    # same token, another card another one.
    assert record["card_token"].startswith("<CREDIT_CARD#")
    assert silver("4111111111111111")["card_token"] == record["card_token"]
    assert silver("5555 5555 5555 4444")["card_token"] != record["card_token"]


def test_invalid_records_carry_reasons_and_no_record() -> None:
    checked = check_event(b"\xff{", NOW, KEY)
    assert not checked.valid and checked.record is None
    assert checked.failures and checked.failures[0].startswith("payload.encoding")


def test_the_future_is_judged_against_the_kafka_timestamp() -> None:
    ahead = json.dumps({**ORDER, "event_time": "2026-11-22T12:10:00Z"})
    assert not check_event(ahead, NOW, KEY).valid
    assert check_event(ahead, NOW + timedelta(minutes=10), KEY).valid  # the same record, received later


def test_the_hash_key_is_required_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    assert needs_hash_key()
    with pytest.raises(MissingHashKey, match=HASH_KEY_ENV):
        check_event(json.dumps(ORDER), NOW)
    monkeypatch.setenv(HASH_KEY_ENV, "from-env")
    assert check_event(json.dumps(ORDER), NOW).valid


def test_no_generated_event_leaves_pii_in_what_silver_stores() -> None:
    for _, event in islice(events(seed=11), 3000):
        checked = check_event(json.dumps(event), datetime.now(UTC), KEY)
        assert checked.valid, checked.failures
        leftovers = [(s, detect(s)) for s in _strings(json.loads(checked.record or ""))]
        assert [x for x in leftovers if x[1]] == []


def test_the_sinks_columns_come_out_of_the_masked_record_parsed_once() -> None:
    from udfs.records import COLUMNS

    checked = check_event(json.dumps(ORDER), NOW, KEY)
    columns = dict(zip(COLUMNS, checked.columns, strict=True))
    record = json.loads(checked.record or "")
    assert columns["event_id"] == ORDER["event_id"] and columns["user_id"] == "U00042"
    assert columns["email"] == record["email"] != ORDER["email"]  # masked, as in the record
    assert json.loads(columns["items"] or "") == record["items"] and columns["item_count"] == "1"
    assert columns["total"] == "10.5" and columns["page"] is None
    assert checked.order_lines == ["kitchen|1|10.5"]


def test_the_check_columns_follow_the_rules_file_released_ones_first() -> None:
    """The columns are the check's row type in the job (udfs.flink_udfs.CHECK_RESULT): derived from the
    rules, a new field appends one, and the released ones keep their places."""
    from udfs.records import COLUMNS, check_columns
    from udfs.validation import Rules

    released = ("event_id", "user_id", "country", "page", "session_id", "ip_address", "user_agent", "sku",
                "quantity", "unit_price", "order_id", "items", "item_count", "total", "currency", "email",
                "shipping_name", "amount", "method", "card_number", "card_token", "channel", "message")
    assert COLUMNS[:len(released)] == released
    rules = Rules(10, {"event_id": {}, "event_type": {}, "event_time": {}},
                  {"a": {"x": {}, "lines": {"count": "line_count"}}, "b": {"x": {}, "card": {"token": "card_token"}}})
    assert check_columns(rules) == ("event_id", "x", "lines", "line_count", "card", "card_token")


def test_numbers_keep_their_value_through_the_text_columns() -> None:
    from decimal import Decimal

    from udfs.records import COLUMNS

    order = {**ORDER, "total": 123456.78, "items": [{**ORDER["items"][0], "unit_price": 20, "quantity": 3},
                                                     {**ORDER["items"][0], "unit_price": 0.1, "category": "garden"}]}
    checked = check_event(json.dumps(order), NOW, KEY)
    columns = dict(zip(COLUMNS, checked.columns, strict=True))
    assert Decimal(columns["total"] or "") == Decimal("123456.78")
    assert checked.order_lines == ["kitchen|3|20", "garden|1|0.1"]
    assert columns["item_count"] == "2"


def test_invalid_records_have_no_columns() -> None:
    checked = check_event(b"{not json", NOW, KEY)
    assert not checked.valid and set(checked.columns) == {None} and checked.order_lines is None


def test_every_silver_column_is_a_column_of_the_check() -> None:
    """The silver inserts read the check's columns by name: a silver column the check lacks would be a
    SQL error at submit, caught here first."""
    from iceberg.tables import SILVER_TABLES
    from udfs.records import COLUMNS

    computed = {"event_time", "source_partition", "source_offset", "source_message_id", "processed_at"}
    for spec in SILVER_TABLES:
        missing = {f.name for f in spec.schema.fields} - computed - set(COLUMNS)
        assert not missing, f"{spec.identifier}: {missing}"

"""Validation never raises: every payload gives a record or reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowlake.generate import events
from udfs.validation import RulesError, load_rules, rule_ids, validate

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KNOWN_RULE_IDS = set(rule_ids(load_rules()))


LINE = {"sku": "SKU-1001", "name": "Espresso machine", "category": "kitchen", "quantity": 1, "unit_price": 10.5}


def _event(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "550e8400-e29b-41d4-a716-446655440000", "event_type": "order",
        "event_time": "2026-11-22T11:59:00.000+00:00", "user_id": "U00042", "country": "DE",
        "order_id": "ORD-12345678", "items": [LINE], "total": 10.5, "currency": "EUR",
        "email": "anna@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def failed_rules(payload: object) -> list[str]:
    raw = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return [f.rule_id for f in validate(raw, now=NOW).failures]


def test_generated_events_are_valid() -> None:
    for _, event in islice(events(seed=5), 2000):
        result = validate(json.dumps(event))
        assert result.valid, result.failures
        assert result.record == event


@pytest.mark.parametrize(("payload", "expected"), [
    (b"\xff\xfe{}", ["payload.encoding"]),
    ("{not json", ["payload.json"]),
    ("[1, 2]", ["payload.object"]),
    ("x" * 70_000, ["payload.size"]),
    (None, ["payload.missing"]),
])
def test_payload_failures(payload: bytes | str | None, expected: list[str]) -> None:
    assert [f.rule_id for f in validate(payload, now=NOW).failures] == expected


def test_field_failures_name_rule_field_and_reason() -> None:
    result = validate(json.dumps(_event(total=-1, currency="XYZ", email="not-an-email")), now=NOW)
    assert [(f.rule_id, f.field) for f in result.failures] == [
        ("order.total.min", "total"), ("order.currency.enum", "currency"), ("order.email.pii", "email")]
    assert "below 0" in result.failures[0].reason
    assert result.record is None


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"event_id": ...}, ["common.event_id.required"]),
    ({"total": "10.5"}, ["order.total.type"]),
    ({"total": True}, ["order.total.type"]),
    ({"items": []}, ["order.items.min_items"]),
    ({"items": [LINE] * 201}, ["order.items.max_items"]),
    ({"items": [LINE, "SKU-1001"]}, ["order.items[].type"]),
    ({"items": [LINE, {**LINE, "quantity": 0}]}, ["order.items[].quantity.min"]),
    ({"items": [{**LINE, "category": None, "sku": 7}]}, ["order.items[].sku.type", "order.items[].category.required"]),
    ({"event_type": "no_such_type"}, ["common.event_type.unknown"]),
    ({"event_time": "2026-11-22T12:30:00+00:00"}, ["common.event_time.future"]),
    ({"event_time": "1999-01-01T00:00:00+00:00"}, ["common.event_time.past"]),
    ({"event_time": "2026-11-22 11:00:00"}, ["common.event_time.format"]),
    ({"event_time": "yesterday"}, ["common.event_time.format"]),
    ({"user_id": 42}, ["common.user_id.type"]),
])
def test_rule_failures(overrides: dict[str, object], expected: list[str]) -> None:
    assert failed_rules(_event(**overrides)) == expected
    assert set(expected) <= KNOWN_RULE_IDS


def test_an_order_line_failure_names_the_line() -> None:
    [failure] = validate(json.dumps(_event(items=[LINE, LINE, {**LINE, "category": "Kitchen!"}])), now=NOW).failures
    assert failure.field == "items[2].category"
    assert failure.reason.startswith("items[2].category does not match")


def test_only_the_first_bad_line_is_reported() -> None:
    assert failed_rules(_event(items=[{**LINE, "quantity": 0}] * 50)) == ["order.items[].quantity.min"]


def test_slightly_future_time_is_tolerated() -> None:
    assert failed_rules(_event(event_time=(NOW + timedelta(seconds=60)).isoformat())) == []


@pytest.mark.parametrize(("common", "error"), [
    ('x = { type = "strng" }', "strng"),
    ('x = { type = "array", each = "line" }', r"\[elements.line\]"),
    ('x = { type = "string", pii = "CREDIT_CARD", token = "t" }', "token = 't' needs mask"),
    ('x = { type = "string", pii = "CREDIT_CARD", mask = "mask", token = "x" }', "a name no field has"),
    ('x = { type = "string", count = "n" }', "count = 'n' needs type"),
    ('x = { type = "array", count = "x" }', "count = 'x' needs type"),
])
def test_bad_rules_file_is_rejected_at_load(tmp_path: Path, common: str, error: str) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text(f'[limits]\nmax_payload_bytes = 10\n[common]\n{common}\n[types]\n')
    with pytest.raises(RulesError, match=error):
        load_rules(bad)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                              lambda children: st.lists(children, max_size=4)
                              | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)
                 .map(lambda v: json.dumps(v, allow_nan=True))))
def test_never_raises(payload: bytes | str) -> None:
    result = validate(payload, now=NOW)
    assert result.valid == (result.record is not None)
    assert all(f.rule_id and f.reason for f in result.failures)
    assert {f.rule_id for f in result.failures} <= KNOWN_RULE_IDS


def test_result_names_the_event_type_when_it_can() -> None:
    assert validate(json.dumps(_event()), now=NOW).event_type == "order"
    assert validate(json.dumps(_event(total=-1)), now=NOW).event_type == "order"
    assert validate(json.dumps(_event(event_type="no_such_type")), now=NOW).event_type == "no_such_type"
    assert validate("{not json", now=NOW).event_type is None


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"total": -1, "currency": "XYZ", "email": "x"}, {"order.total.min", "order.currency.enum", "order.email.pii"}),
    ({"event_time": "2099-01-01T00:00:00+00:00", "items": []}, {"common.event_time.future", "order.items.min_items"}),
])
def test_reported_rule_ids_are_listed_up_front(overrides: dict[str, object], expected: set[str]) -> None:
    assert set(failed_rules(_event(**overrides))) == expected
    assert expected <= KNOWN_RULE_IDS

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from flowlake.errors import FlowlakeError
from flowlake.generate import BAD_KINDS, Mix, card_number, events, records
from udfs.pii import is_valid
from udfs.validation import validate


def test_same_seed_same_events() -> None:
    first = [e for _, e in islice(events(seed=7), 50)]
    second = [e for _, e in islice(events(seed=7), 50)]
    strip = [{k: v for k, v in e.items() if k != "event_time"} for e in first]
    assert strip == [{k: v for k, v in e.items() if k != "event_time"} for e in second]


def test_events_cover_all_types_and_are_json() -> None:
    sample = list(islice(events(seed=1), 2000))
    kinds = Counter(e["event_type"] for _, e in sample)
    assert set(kinds) == {"page_view", "add_to_cart", "order", "payment", "support_message"}
    for key, event in sample:
        assert key == event["user_id"]
        json.loads(json.dumps(event))
        assert datetime.fromisoformat(str(event["event_time"])).tzinfo is not None
        assert datetime.fromisoformat(str(event["event_time"])) <= datetime.now(UTC)


def test_event_ids_are_unique() -> None:
    ids = [e["event_id"] for _, e in islice(events(seed=3), 5000)]
    assert len(set(ids)) == len(ids)


def test_mix_labels_match_what_validation_says() -> None:
    mix = Mix(bad=0.1, duplicates=0.05, late=0.05)
    sample = list(islice(records(seed=9, mix=mix), 4000))
    labels = Counter(label.split(":")[0] for _, _, label in sample)
    assert 300 <= labels["bad"] <= 500 and 120 <= labels["duplicate"] <= 280 and 120 <= labels["late"] <= 280
    kinds = set()
    for _, payload, label in sample:
        result = validate(payload)
        if label.startswith("bad:"):
            kinds.add(label)
            assert not result.valid, (label, payload[:200])
        else:
            assert result.valid, (label, result.failures)
    assert kinds == {f"bad:{k}" for k in BAD_KINDS}


def test_duplicates_repeat_earlier_event_ids_and_late_events_are_old() -> None:
    sample = list(islice(records(seed=4, mix=Mix(duplicates=0.2, late=0.2)), 2000))
    seen: set[object] = set()
    for _, payload, label in sample:
        event = json.loads(payload)
        if label == "duplicate":
            assert event["event_id"] in seen
        else:
            assert event["event_id"] not in seen
        if label == "late":
            assert datetime.fromisoformat(event["event_time"]) < datetime.now(UTC) - timedelta(seconds=500)
        seen.add(event["event_id"])


def test_only_the_kinds_the_mix_asks_for() -> None:
    """The first record has nothing to duplicate: a duplicate's roll then gives a plain valid event (it
    once gave a late one without any late fraction, a stray in the fault tests' silver checks)."""
    for seed in range(300):
        sample = islice(records(seed=seed, mix=Mix(bad=0.05, duplicates=0.05)), 5)
        labels = {label.split(":")[0] for *_, label in sample}
        assert labels <= {"valid", "duplicate", "bad"}, seed
    first_labels = {next(records(seed=seed, mix=Mix(duplicates=1.0)))[2] for seed in range(20)}
    assert first_labels == {"valid"}


def test_bad_fractions_are_checked() -> None:
    with pytest.raises(FlowlakeError):
        Mix(bad=0.8, duplicates=0.3)


def test_each_customer_has_a_valid_card_of_its_own() -> None:
    cards = {card_number(n) for n in range(1, 5000)}
    assert len(cards) == 4999 and all(is_valid("CREDIT_CARD", c) for c in cards)

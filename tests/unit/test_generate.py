from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from itertools import islice

from flowlake.generate import events


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

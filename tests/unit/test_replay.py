"""Quarantine replay (flowlake/replay.py, flink_jobs/replay.py): the views the batch job plans and the
refusals before it starts. The job on the real stack: tests/integration/test_quality.py."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flink_jobs.replay import like_pattern, replay_views
from flowlake.errors import FlowlakeError
from flowlake.replay import check_rules_file, quarantined
from udfs.records import COLUMNS
from udfs.validation import RULES_FILE


def test_the_views_select_the_rule_since_the_time_and_leave_out_what_silver_has() -> None:
    args = argparse.Namespace(catalog_name="shop", since="2026-12-07T10:00:00+00:00", rule="order.shipping_name.regex")
    source, checked, replayed = replay_views(args)
    assert "FROM shop.quarantine.events" in source and "TO_TIMESTAMP_LTZ(1796637600000, 3)" in source
    assert "LIKE '[order.shipping\\_name.regex: %' ESCAPE '\\'" in source  # _ is literal, not any character
    assert "check_event(payload, source_timestamp)" in checked
    assert "NOT IN (SELECT event_id FROM (SELECT event_id FROM shop.silver.page_views UNION ALL" in replayed
    assert all(f"checked.`{name}` AS `{name}`" in replayed for name in COLUMNS)
    assert like_pattern("a%b'c") == "a\\%b''c"


def test_the_trino_filter_matches_the_rule_id_and_its_colon() -> None:
    assert quarantined("payment.currency.enum", None) == (
        "any_match(failures, f -> starts_with(f, 'payment.currency.enum: ')))"[:-1])
    since = quarantined("x.y", datetime(2026, 12, 7, tzinfo=UTC))
    assert since.endswith("AND quarantined_at >= TIMESTAMP '2026-12-07 00:00:00.000000 UTC'")


def test_a_rules_file_with_other_fields_is_refused(tmp_path: Path) -> None:
    check_rules_file(RULES_FILE)
    widened = tmp_path / "events.toml"
    widened.write_text(RULES_FILE.read_text().replace(
        "[types.payment]\n", '[types.payment]\nreference = { type = "string", required = false }\n'))
    with pytest.raises(FlowlakeError, match="not which fields silver has"):
        check_rules_file(widened)
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits\n")
    with pytest.raises(FlowlakeError, match="--rules"):
        check_rules_file(broken)

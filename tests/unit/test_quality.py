"""Table checks (flowlake/quality.py): the expectations file, the SQL each kind renders, and the verdicts
judged from query rows. The SQL against real tables: tests/integration/test_quality.py."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowlake.errors import FlowlakeError
from flowlake.quality import KINDS, Check, judge, load_checks, psi, render

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def volume(**params: object) -> Check:
    return Check("v", "volume", "silver.payments", {"time_column": "processed_at", "window_minutes": 60,
                                                    "baseline_windows": 4, "min_ratio": 0.5, "max_ratio": 0.0,
                                                    "group_by": [], "where": "", "min_baseline": 10, **params})


def test_the_shipped_expectations_load_and_cover_every_kind() -> None:
    schedule, checks = load_checks()
    assert schedule.count(" ") == 4
    assert {check.kind for check in checks} == set(KINDS)
    snapshots = {table: 42 for check in checks for table in check.tables()}
    for check in checks:
        sql = render(check, AT, "lakehouse", snapshots)
        assert "${" not in sql, check.name
        assert f"{check.table.split('.')[0]}.\"{check.table.split('.')[1]}\" FOR VERSION AS OF 42" in sql, check.name


@pytest.mark.parametrize(("entry", "message"), [
    ({"kind": "nulls", "table": "silver.orders", "columns": ["emial"], "max_ratio": 0.1, "time_column": "event_time",
      "lookback_minutes": 60}, r"has no column \['emial'\]"),
    ({"kind": "nulls", "table": "silver.order", "columns": ["email"], "max_ratio": 0.1, "time_column": "event_time",
      "lookback_minutes": 60}, "unknown table 'silver.order'"),
    ({"kind": "rows", "table": "silver.orders"}, "kind must be one of"),
    ({"kind": "freshness", "table": "silver.orders", "time_column": "event_time"}, r"missing \['max_age_minutes'\]"),
    ({"kind": "freshness", "table": "silver.orders", "time_column": "event_time", "max_age_minutes": 5,
      "max_age": 5}, r"unknown \['max_age'\]"),
    ({"kind": "referential", "table": "silver.payments", "column": "order_id", "time_column": "event_time",
      "parent_table": "silver.orders", "parent_column": "order_ref", "parent_time_column": "event_time",
      "within_minutes": 5, "lookback_minutes": 60, "max_orphan_ratio": 0}, "has no column 'order_ref'"),
])
def test_a_wrong_expectation_is_refused_with_its_reason(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    path = tmp_path / "checks.toml"
    path.write_text("[[check]]\nname = \"c\"\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry.items()))
    with pytest.raises(FlowlakeError, match=message):
        load_checks(path)


def test_check_names_are_unique(tmp_path: Path) -> None:
    entry = 'name = "c"\nkind = "freshness"\ntable = "silver.orders"\ntime_column = "event_time"\nmax_age_minutes = 5\n'
    path = tmp_path / "checks.toml"
    path.write_text(f"[[check]]\n{entry}[[check]]\n{entry}")
    with pytest.raises(FlowlakeError, match="unique: c"):
        load_checks(path)


def test_volume_fails_when_a_source_goes_quiet_and_judges_nothing_without_history() -> None:
    rows = [[1, 100], [2, 120], [3, 90], [4, 110]]  # nothing in the window checked (bucket 0)
    [quiet] = judge(volume(), rows, AT)
    assert not quiet.passed and quiet.observed == 0 and "baseline 105" in quiet.threshold
    [normal] = judge(volume(), [[0, 80], *rows], AT)
    assert normal.passed and normal.observed == 80
    [half] = judge(volume(), [[0, 50], *rows], AT)
    assert not half.passed  # 50 < 0.5 x 105
    [new] = judge(volume(), [[0, 3], [1, 2]], AT)  # median of 2, 0, 0, 0 = 0 < min_baseline
    assert new.passed and "too little history" in new.details
    [spike] = judge(volume(max_ratio=3.0), [[0, 400], *rows], AT)
    assert not spike.passed


def test_volume_per_group_judges_each_group() -> None:
    rows = [["events", 0, 100], ["events", 1, 100], ["events", 2, 100], ["other", 1, 50], ["other", 2, 50]]
    results = judge(volume(group_by=["source_topic"], baseline_windows=2), rows, AT)
    assert [(r.subject, r.passed) for r in results] == [("source_topic=events", True), ("source_topic=other", False)]


def test_nulls_distinct_allowed_values_and_referential() -> None:
    nulls = Check("n", "nulls", "silver.orders", {"columns": ["country", "shipping_name"], "max_ratio": 0.05})
    assert [(r.subject, r.observed, r.passed) for r in judge(nulls, [[200, 4, 20]], AT)] == [
        ("country", 0.02, True), ("shipping_name", 0.1, False)]
    assert all(r.passed and r.observed is None for r in judge(nulls, [[0, 0, 0]], AT))  # no rows: nothing broken
    distinct = Check("d", "distinct", "silver.orders", {"columns": ["event_id"], "min_ratio": 1.0})
    assert not judge(distinct, [[1000, 999]], AT)[0].passed  # one duplicate breaks exactly-once
    allowed = Check("a", "allowed_values", "silver.payments", {"column": "method", "values": ["card"],
                                                               "max_outside_ratio": 0.0})
    [outside] = judge(allowed, [[10, 1]], AT)
    assert not outside.passed and outside.observed == 0.1
    referential = Check("r", "referential", "silver.payments", {
        "column": "order_id", "parent_table": "silver.orders", "parent_column": "order_id", "within_minutes": 30,
        "max_orphan_ratio": 0.01})
    assert judge(referential, [[1000, 10]], AT)[0].passed
    assert not judge(referential, [[1000, 11]], AT)[0].passed


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    assert psi({"DE": 10, "FR": 10}, {"DE": 100, "FR": 100}) == pytest.approx(0.0)
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi({"DE": 80, "FR": 20}, {"DE": 50, "FR": 50}) == pytest.approx(expected)
    assert psi({"DE": 50, "FR": 50, "XX": 0}, {"DE": 50, "FR": 50}) == pytest.approx(0.0)
    assert psi({"XX": 10}, {"DE": 10}) > 10  # a value never seen before: a large shift, still finite
    drift = Check("p", "distribution", "silver.orders", {"column": "country", "max_psi": 0.25, "min_rows": 100})
    rows = [[True, "DE", 80], [True, "FR", 20], [False, "DE", 500], [False, "FR", 500]]
    [shifted] = judge(drift, rows, AT)
    assert not shifted.passed and shifted.observed == pytest.approx(expected)
    [few] = judge(drift, [[True, "DE", 8], [False, "FR", 500]], AT)
    assert few.passed and few.observed is None and "too few" in few.details


def test_freshness_and_reconcile() -> None:
    fresh = Check("f", "freshness", "bronze.events", {"time_column": "ingested_at", "max_age_minutes": 15})
    assert judge(fresh, [[AT - timedelta(minutes=5)]], AT)[0].passed
    stale = judge(fresh, [[AT - timedelta(minutes=16)]], AT)[0]
    assert not stale.passed and stale.observed == 960
    assert not judge(fresh, [[None]], AT)[0].passed  # an empty table is not fresh
    reconcile = Check("c", "reconcile", "gold.revenue_per_minute", {"max_relative_difference": 0.001})
    results = judge(reconcile, [["revenue EUR", 1000.0, 1000.0], ["revenue USD", None, 12.0]], AT)
    assert [(r.subject, r.passed) for r in results] == [("revenue EUR", True), ("revenue USD", False)]


def test_reconcile_reads_whole_hours_and_every_table_at_its_snapshot() -> None:
    _, checks = load_checks()
    revenue = next(c for c in checks if c.kind == "reconcile" and c.table == "gold.revenue_per_minute")
    assert revenue.tables() == ["gold.revenue_per_minute", "silver.orders", "gold.late_events"]
    sql = render(revenue, datetime(2026, 12, 7, 10, 45, tzinfo=UTC), "prod",
                 {"gold.revenue_per_minute": 1, "silver.orders": 2, "gold.late_events": None})
    assert "TIMESTAMP '2026-12-07 10:00:00.000000 UTC'" in sql  # 10:45 - 30 min, down to the hour
    assert 'prod.silver."orders" FOR VERSION AS OF 2' in sql and 'prod.gold."late_events"\n' in sql


def test_generated_payments_pay_orders_generated_before_them() -> None:
    from flowlake.generate import records

    ordered: set[str] = set()
    paid = orphans = 0
    for _, payload, label in itertools.islice(records(seed=3), 3000):
        event = json.loads(payload)
        if event["event_type"] == "order":
            ordered.add(event["order_id"])
        elif event["event_type"] == "payment" and label == "valid":
            paid += 1
            orphans += event["order_id"] not in ordered
    assert paid > 300 and orphans <= 2  # the payments before the first order

"""Daily gold restatement (flowlake/restate.py, flink_jobs/restate.py): which days a scheduled run takes,
which are final, and the statements it plans. On the real stack: tests/integration/test_quality.py."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

import pytest

from flink_jobs.restate import epoch_ms, statements_sql
from flowlake.restate import days_due


def test_a_scheduled_run_takes_the_complete_days_of_the_lookback() -> None:
    now = datetime(2026, 12, 7, 1, 20, tzinfo=UTC)
    first, until, final_before = days_due(now, lookback_days=3, margin_days=2)
    assert (first, until) == (date(2026, 12, 4), date(2026, 12, 7))  # today is not complete: not restated
    # 12-04 ended 12-05 00:00, two days before 12-07 00:00 < now: final; 12-05 ends 12-06, not yet.
    assert final_before == datetime(2026, 12, 5, 1, 20, tzinfo=UTC)


def test_the_statements_overwrite_whole_days_of_both_tables() -> None:
    args = argparse.Namespace(catalog_name="shop", from_day=date(2026, 1, 15), until_day=date(2026, 1, 16),
                              final_before=datetime(2026, 12, 5, tzinfo=UTC))
    revenue, funnel = statements_sql(args)
    assert "INSERT OVERWRITE shop.gold.revenue_daily\n" in revenue
    assert "INSERT OVERWRITE shop.gold.funnel_daily\n" in funnel
    for sql in (revenue, funnel):
        assert f"TO_TIMESTAMP_LTZ({epoch_ms(date(2026, 1, 15))}, 3)" in sql
        assert f"TO_TIMESTAMP_LTZ({epoch_ms(date(2026, 1, 16))}, 3)" in sql
        assert "${" not in sql
    assert epoch_ms(date(2026, 1, 15)) == 1768435200000
    with pytest.raises(SystemExit, match="not after"):
        statements_sql(argparse.Namespace(**{**vars(args), "until_day": date(2026, 1, 15)}))

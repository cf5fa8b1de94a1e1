"""`flowlake gold restate`: daily revenue and funnel recomputed from silver with the late events (the batch
Flink job flink_jobs/restate.py), for the complete days that are not final yet: the last
restate_lookback_days days, each final once it ended restate_margin_days ago. analytics.revenue_daily and
analytics.funnel_daily read the restated days and the stream's windows for the others (today)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flowlake.clients.flink import failure_tail, run_attached
from flowlake.clients.trino import query, sql_time
from flowlake.config import Settings
from flowlake.errors import FlowlakeError


@dataclass(frozen=True)
class Restatement:
    from_day: date
    until_day: date  # exclusive
    final_before: datetime
    flink_job_id: str
    days: list[tuple[date, bool, int]]  # (day, final, revenue rows) as written


def days_due(now: datetime, lookback_days: int, margin_days: int) -> tuple[date, date, datetime]:
    """(first day, the day after the last, final-before) of a scheduled run: the complete days of the
    lookback; a day that ended margin_days before now is final."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=lookback_days), today, now - timedelta(days=margin_days)


def restate(settings: Settings, from_day: date | None = None, until_day: date | None = None,
            now: datetime | None = None) -> Restatement:
    now = now or datetime.now(UTC)
    first, until, final_before = days_due(now, settings.restate_lookback_days, settings.restate_margin_days)
    first, until = from_day or first, until_day or until
    if until <= first:
        raise FlowlakeError(f"--until {until} must be after --from {first} (the day after the last one restated)")
    args = ["--from-day", first.isoformat(), "--until-day", until.isoformat(),
            "--final-before", final_before.isoformat(), "--job-name", f"flowlake-restate {first}..{until}"]
    returncode, output = run_attached(settings, "restate", args)
    if returncode != 0:
        raise failure_tail("restate", returncode, output)
    found = re.search(r"RESTATE_JOB (\w+)", output)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC)
    rows = query(settings, f"SELECT CAST(day AS date), bool_and(final), count(*) FROM "
                           f"{settings.catalog_name}.gold.revenue_daily WHERE day >= {sql_time(start)} "
                           f"AND day < {sql_time(end)} GROUP BY 1 ORDER BY 1")[1]
    return Restatement(first, until, final_before, found.group(1) if found else "",
                       [(day, bool(final), int(count)) for day, final, count in rows])

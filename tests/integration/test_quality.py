"""The batch side on the session's stack and medallion job. Table checks: a producer that stops sending one
event type fails the volume check, the result lands in quality.check_results and analytics.quality_status
at the snapshot read, the exporter and Prometheus turn it into DataQualityCheckFailed, and a passing run
clears it; every shipped check's SQL runs against the real tables. Stratified samples, quarantine replay
(a batch Flink job) and daily gold restated from silver (a batch Flink job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka import Producer

from flowlake.config import Settings
from flowlake.kafka_security import client_config
from flowlake.quality import load_checks

from .conftest import IngestJob, wait_until
from .lakehouse import floor_to, q

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

FLOWLAKE = str(Path(sys.executable).parent / "flowlake")


def wide() -> dict[str, str]:
    """The environment (the session's stack settings included) with a wide terminal: off a terminal rich
    wraps tables at 80 columns, splitting names in two."""
    return {**os.environ, "COLUMNS": "250"}


PRODUCER = "U07777"  # outside the generator's user ids: the checks below see only this test's events
CHECKS = f"""
[[check]]
name = "it_payments_volume"
kind = "volume"
table = "silver.payments"
time_column = "event_time"
where = "user_id = '{PRODUCER}'"
window_minutes = 1
baseline_windows = 4
min_ratio = 0.5
min_baseline = 10

[[check]]
name = "it_page_views_volume"
kind = "volume"
table = "silver.page_views"
time_column = "event_time"
where = "user_id = '{PRODUCER}'"
window_minutes = 1
baseline_windows = 4
min_ratio = 0.5
min_baseline = 10

[[check]]
name = "it_page_views_nulls"
kind = "nulls"
table = "silver.page_views"
time_column = "event_time"
where = "user_id = '{PRODUCER}'"
lookback_minutes = 5
columns = ["country", "user_agent"]
max_ratio = 0.5
"""


def prometheus(settings: Settings, expr: str) -> list[Any]:
    response = requests.get(f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def event(at: Any, event_type: str, **fields: Any) -> bytes:
    return json.dumps({"event_id": str(uuid.uuid4()), "event_type": event_type, "user_id": PRODUCER,
                       "event_time": at.isoformat(timespec="milliseconds"), "country": "NL", **fields}).encode()


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOWLAKE, "check", *args], capture_output=True, text=True, timeout=600, env=wide())


def test_a_producer_that_stops_sending_payments_fails_the_volume_check_and_pages(
        local_stack: Settings, ingest_job: IngestJob, tmp_path: Path) -> None:
    settings, job = local_stack, ingest_job
    # Five minutes of event time on the job's clock (it only moves forward): four with a page view and a
    # payment every 2 s, then one of page views alone.
    start = floor_to(job.clock.start + timedelta(minutes=1), timedelta(minutes=1))
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for second in range(0, 300, 2):
        at = start + timedelta(seconds=second)
        producer.produce(job.topic, key=PRODUCER.encode(), value=event(at, "page_view", page="/p", session_id="s"))
        if second < 240:
            producer.produce(job.topic, key=PRODUCER.encode(),
                             value=event(at, "payment", order_id="ORD-77770001", amount=9.5, currency="EUR",
                                         method="paypal"))
    assert producer.flush(30) == 0
    job.clock.start = start + timedelta(minutes=5)
    counts = f"""SELECT (SELECT count(*) FROM lakehouse.silver.page_views WHERE user_id = '{PRODUCER}'),
                        (SELECT count(*) FROM lakehouse.silver.payments WHERE user_id = '{PRODUCER}')"""
    wait_until(lambda: q(settings, counts) == [[150, 120]], timeout=180, interval=3, what="the events in silver")

    checks = tmp_path / "checks.toml"
    checks.write_text(CHECKS)
    at = (start + timedelta(minutes=5)).isoformat()
    ran = check("--file", str(checks), "--at", at)
    assert ran.returncode == 1, ran.stdout + ran.stderr  # a check failed
    assert "it_payments_volume" in ran.stdout and "FAIL" in ran.stdout and "2 passed, 2 failed" in ran.stderr

    status = {(name, subject): (passed, observed, snapshot) for name, subject, passed, observed, snapshot in q(
        settings, "SELECT check_name, subject, passed, observed, snapshot_id FROM lakehouse.analytics.quality_status "
                  "WHERE check_name LIKE 'it\\_%' ESCAPE '\\'")}
    passed, observed, snapshot = status[("it_payments_volume", "rows")]
    assert (passed, observed) == (False, 0.0)
    # The check read one snapshot of silver.payments, recorded with the result; it holds the payments.
    assert q(settings, f"SELECT count(*) FROM lakehouse.silver.payments FOR VERSION AS OF {snapshot} "
                       f"WHERE user_id = '{PRODUCER}'") == [[120]]
    assert status[("it_page_views_volume", "rows")][:2] == (True, 30.0)  # 30 a minute, as before
    assert status[("it_page_views_nulls", "country")][:2] == (True, 0.0)
    assert status[("it_page_views_nulls", "user_agent")][:2] == (False, 1.0)  # never sent
    [[rows]] = q(settings, "SELECT count(*) FROM lakehouse.quality.check_results WHERE check_name LIKE 'it\\_%' "
                           "ESCAPE '\\'")
    assert rows == 4

    firing = 'ALERTS{alertname="DataQualityCheckFailed", check="it_payments_volume", alertstate="firing"}'
    alert = wait_until(lambda: prometheus(settings, firing), timeout=120, interval=5,
                       what="DataQualityCheckFailed firing")
    assert alert[0]["metric"]["table"] == "silver.payments"

    # The producer sends payments again: the next run passes and the alert clears.
    ran = check("--file", str(checks), "--table", "silver.payments", "--at", (start + timedelta(minutes=4)).isoformat())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    wait_until(lambda: not prometheus(settings, firing), timeout=120, interval=5, what="DataQualityCheckFailed cleared")
    q(settings, f"DELETE FROM lakehouse.silver.page_views WHERE user_id = '{PRODUCER}'")
    q(settings, f"DELETE FROM lakehouse.silver.payments WHERE user_id = '{PRODUCER}'")
    q(settings, "DELETE FROM lakehouse.quality.check_results WHERE check_name LIKE 'it\\_%' ESCAPE '\\'")


def test_every_shipped_check_runs_against_the_real_tables(local_stack: Settings, ingest_job: IngestJob) -> None:
    """iceberg/quality.toml as shipped: every check's SQL runs in Trino and each check has its results
    (pass or fail depends on what the session's tests sent; a query that failed would be subject 'query')."""
    settings = local_stack
    ran = check()
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    run_id = ran.stderr.split("run ")[-1].split(":")[0]
    rows = q(settings, f"SELECT check_name, subject, details FROM lakehouse.quality.check_results "
                       f"WHERE run_id = '{run_id}'")
    _, shipped = load_checks()
    assert {name for name, _, _ in rows} == {c.name for c in shipped}
    assert [r for r in rows if r[1] == "query"] == []


def test_a_stratified_sample_is_repeatable_and_balanced(local_stack: Settings, ingest_job: IngestJob,
                                                        tmp_path: Path) -> None:
    """`flowlake sample` on silver.page_views by country: the same seed the same rows, per-stratum counts
    printed, balance takes the smallest stratum's share from every stratum; Parquet and CSV."""
    import pyarrow.parquet as pq

    from flowlake.generate import generate

    settings, job = local_stack, ingest_job
    batch: list[tuple[str, bytes, str]] = []  # page views of several countries, whatever ran before
    generate(settings, 300, None, None, topic=job.topic, seed=9731, clock=job.clock, keep=batch)
    ids = "', '".join(e["event_id"] for e in (json.loads(p) for _, p, _ in batch) if e["event_type"] == "page_view")
    wait_until(lambda: q(settings, f"SELECT count(*) FROM lakehouse.silver.page_views WHERE event_id IN ('{ids}')")
               == [[ids.count("', '") + 1]], timeout=180, interval=3, what="the page views in silver")
    # Only this test's rows: other tests' events may still be committing, and a new row can rank first.
    mine = f"event_id IN ('{ids}')"
    populations = dict(q(settings, f"SELECT country, count(*) FROM lakehouse.silver.page_views WHERE {mine} "
                                   "GROUP BY 1"))
    assert len(populations) >= 2, populations

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        ran = subprocess.run([FLOWLAKE, "sample", "--table", "silver.page_views", "--by", "country", "--where", mine,
                              *args], capture_output=True, text=True, timeout=300, env=wide())
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran

    first, second, other = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    run("--per-stratum", "3", "--seed", "7", "--out", str(first))
    run("--per-stratum", "3", "--seed", "7", "--out", str(second))
    run("--per-stratum", "3", "--seed", "8", "--out", str(other))
    rows = pq.read_table(first).to_pylist()
    assert rows == pq.read_table(second).to_pylist()
    assert {r["event_id"] for r in rows} != {r["event_id"] for r in pq.read_table(other).to_pylist()}
    taken = {country: sum(r["country"] == country for r in rows) for country in populations}
    assert taken == {country: min(3, n) for country, n in populations.items()}

    balanced = tmp_path / "balanced.csv"
    ran = run("--fraction", "0.5", "--balance", "--seed", "7", "--out", str(balanced))
    smallest = min(-(-n // 2) for n in populations.values())  # half of the smallest stratum, rounded up
    lines = balanced.read_text().splitlines()
    assert lines[0].startswith("event_id,") and len(lines) - 1 == smallest * len(populations)
    assert f"{smallest * len(populations)} rows from {len(populations)} strata" in ran.stderr


def test_a_quarantine_replay_writes_the_now_valid_records_to_silver_once(
        local_stack: Settings, ingest_job: IngestJob, tmp_path: Path) -> None:
    """Payments in Swiss francs are refused by the currency rule; the rule is widened (a rules file for the
    replay, as a fixed file would be after its release); the replay writes each of them to silver once,
    masked, a duplicate's event id once; run again, it writes nothing."""
    from datetime import UTC, datetime

    from flowlake.clients.flink import FlinkRest

    settings, job = local_stack, ingest_job
    since = datetime.now(UTC)
    payer = "U07778"
    payments = [{"event_id": str(uuid.uuid4()), "event_type": "payment", "user_id": payer, "country": "CH",
                 "event_time": job.clock().isoformat(timespec="milliseconds"), "order_id": f"ORD-7778000{i}",
                 "amount": 10 + i, "currency": "CHF", "method": "card", "card_number": "4000 0000 0000 0002"}
                for i in range(3)]
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for payment in [*payments, payments[0]]:  # the first one twice
        producer.produce(job.topic, key=payer.encode(), value=json.dumps(payment).encode())
    assert producer.flush(30) == 0
    rule = "payment.currency.enum"
    in_quarantine = ("SELECT count(*) FROM lakehouse.quarantine.events "
                     f"WHERE strpos(from_utf8(payload), '{payer}') > 0 "
                     f"AND any_match(failures, f -> starts_with(f, '{rule}: '))")
    wait_until(lambda: q(settings, in_quarantine) == [[4]], timeout=120, interval=3, what="the payments in quarantine")

    rules = tmp_path / "events.toml"
    current = (Path(__file__).resolve().parents[2] / "udfs" / "rules" / "events.toml").read_text()
    widened = current.replace('currency = { type = "string", required = true, enum = ["EUR", "USD", "GBP", "INR"] }',
                              'currency = { type = "string", required = true, enum = ["EUR", "USD", "GBP", "INR", '
                              '"CHF"] }')
    assert widened != current
    rules.write_text(widened)

    def replay() -> subprocess.CompletedProcess[str]:
        ran = subprocess.run([FLOWLAKE, "quarantine", "replay", "--rule", rule, "--since", since.isoformat(),
                              "--rules", str(rules)], capture_output=True, text=True, timeout=900, env=wide())
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran

    first = replay()
    assert f"4 quarantined records of {rule}, 3 written to silver (silver.payments 3)" in first.stderr, first.stderr
    silver = q(settings, f"SELECT event_id, currency, card_number, card_token FROM lakehouse.silver.payments "
                         f"WHERE user_id = '{payer}'")
    assert sorted(row[0] for row in silver) == sorted(p["event_id"] for p in payments)
    assert all(currency == "CHF" and card.endswith("0002") and "4000 0000" not in card and token
               for _, currency, card, token in silver)  # masked as the stream masks
    second = replay()
    assert "0 written to silver (none new)" in second.stderr, second.stderr
    assert q(settings, f"SELECT count(*) FROM lakehouse.silver.payments WHERE user_id = '{payer}'") == [[3]]
    audits = q(settings, f"SELECT records_matched, rows_written, flink_job_id FROM lakehouse.audit.replays "
                         f"WHERE rule = '{rule}' AND started_at >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S} UTC' "
                         "ORDER BY started_at")
    assert [row[:2] for row in audits] == [[4, {"silver.payments": 3}], [4, {}]]
    assert FlinkRest(settings).job(audits[0][2])["state"] == "FINISHED"
    q(settings, f"DELETE FROM lakehouse.silver.payments WHERE user_id = '{payer}'")


def test_restated_daily_gold_counts_the_late_events_the_stream_left_out(
        local_stack: Settings, ingest_job: IngestJob) -> None:
    """Events of a past day reach silver but no stream window (they are late); the restatement computes the
    day from silver, analytics.revenue_daily and funnel_daily read it, equal to a reference computed here; a
    further late order is in the day's figure after the next run."""
    from collections import defaultdict
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from flowlake.views import create_views

    settings, job = local_stack, ingest_job
    create_views(settings)  # as test_medallion did; this test may run alone
    day = date(2026, 1, 15)
    start = datetime(2026, 1, 15, 9, tzinfo=UTC)
    buyers, browser = ("U07781", "U07782"), "U07783"

    def order(user: str, minute: int, lines: list[tuple[str, int, float]], currency: str = "EUR") -> dict[str, Any]:
        items = [{"sku": f"SKU-{i}", "name": "thing", "category": category, "quantity": quantity, "unit_price": price}
                 for i, (category, quantity, price) in enumerate(lines, 1001)]
        return {"event_id": str(uuid.uuid4()), "event_type": "order", "user_id": user, "country": "NL",
                "event_time": (start + timedelta(minutes=minute)).isoformat(timespec="milliseconds"),
                "order_id": f"ORD-7778{minute:04d}", "items": items, "currency": currency,
                "total": round(sum(q * p for _, q, p in lines), 2), "email": "buyer@example.com"}

    def page_view(user: str, minute: int) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "event_type": "page_view", "user_id": user, "country": "NL",
                "event_time": (start + timedelta(minutes=minute)).isoformat(timespec="milliseconds"),
                "page": "/home", "session_id": "s"}

    def send(events: list[dict[str, Any]]) -> None:
        producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
        for e in events:
            producer.produce(job.topic, key=e["user_id"].encode(), value=json.dumps(e).encode())
        assert producer.flush(30) == 0
        ids = "', '".join(e["event_id"] for e in events)
        wait_until(lambda: q(settings, f"SELECT count(*) FROM (SELECT event_id FROM lakehouse.silver.orders UNION ALL "
                                       f"SELECT event_id FROM lakehouse.silver.page_views) WHERE event_id IN ('{ids}')")
                   == [[len(events)]], timeout=180, interval=3, what="the day's events in silver")

    orders = [order(buyers[0], 1, [("kitchen", 2, 12.5), ("office", 1, 3.0)]),
              order(buyers[1], 2, [("kitchen", 1, 12.5)]), order(buyers[1], 3, [("office", 4, 2.25)], currency="USD")]
    views = [page_view(u, m) for u, m in ((buyers[0], 0), (buyers[1], 0), (browser, 5), (browser, 6))]
    send(orders + views)

    def reference(orders: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[Any]]:
        rows: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [set(), 0, Decimal(0)])
        for o in orders:
            for line in o["items"]:
                row = rows[(o["country"], line["category"], o["currency"])]
                row[0].add(o["event_id"])
                row[1] += line["quantity"]
                row[2] += line["quantity"] * Decimal(str(line["unit_price"]))
        return {k: [len(v[0]), v[1], v[2]] for k, v in rows.items()}

    def restated() -> dict[tuple[str, str, str], list[Any]]:
        ran = subprocess.run([FLOWLAKE, "gold", "restate", "--from", day.isoformat(), "--until", "2026-01-16"],
                             capture_output=True, text=True, timeout=900, env=wide())
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "2026-01-15" in ran.stdout and "final" in ran.stdout
        rows = q(settings, "SELECT country, category, currency, orders, units, revenue, final, computed_from "
                           f"FROM lakehouse.analytics.revenue_daily WHERE day = DATE '{day}'")
        assert {(r[6], r[7]) for r in rows} == {(True, "restated")}
        return {tuple(r[:3]): list(r[3:6]) for r in rows}

    # The stream wrote none of it: every event of the day was behind its watermark.
    assert q(settings, "SELECT count(*) FROM lakehouse.gold.revenue_per_minute "
                       f"WHERE CAST(window_start AS date) = DATE '{day}'") == [[0]]
    assert restated() == reference(orders)
    [funnel] = q(settings, "SELECT page_views, add_to_carts, orders, visitors, buyers, visitor_hours, final "
                           f"FROM lakehouse.analytics.funnel_daily WHERE day = DATE '{day}'")
    assert funnel == [4, 0, 3, 3, 2, None, True]

    late = order(browser, 30, [("kitchen", 1, 12.5)])
    send([late])
    assert restated() == reference([*orders, late])

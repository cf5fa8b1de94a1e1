"""How long the batch side takes on a million-row table: the table checks, the daily gold restatement,
a stratified sample and a quarantine replay.

    make up && python bench/batch_bench.py [--rows 1000000] [--replayed 100000]

Fills silver.orders with `--rows` orders over 10 past days (2025-03-01 to 2025-03-10, through Trino) and
quarantine.events with `--rows` raw payments of which `--replayed` failed payment.currency.enum (Swiss
francs) and the rest another rule, then times each operation as a user runs it (the CLI, on the local
stack's Flink cluster and Trino). Every bench row (customer ids U09xxx, those days) is deleted again at the
end, with the restated days and the replayed payments."""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flowlake.clients.trino import query
from flowlake.config import REPO_ROOT, Settings, load_settings

FLOWLAKE = str(Path(sys.executable).parent / "flowlake")
DAYS = 10
FIRST_DAY = "2025-03-01"
BENCH_USERS = "U09"  # customer ids U09000-U09999: outside the generator's
CHECKS = f"""
[[check]]
name = "bench_orders_volume"
kind = "volume"
table = "silver.orders"
time_column = "event_time"
where = "user_id LIKE '{BENCH_USERS}%'"
window_minutes = 1440
baseline_windows = 7
min_ratio = 0.5

[[check]]
name = "bench_orders_nulls"
kind = "nulls"
table = "silver.orders"
time_column = "event_time"
lookback_minutes = 14400
columns = ["country", "shipping_name"]
max_ratio = 0.05

[[check]]
name = "bench_orders_unique_event_ids"
kind = "distinct"
table = "silver.orders"
time_column = "event_time"
lookback_minutes = 14400
columns = ["event_id"]
min_ratio = 1.0

[[check]]
name = "bench_orders_country_drift"
kind = "distribution"
table = "silver.orders"
time_column = "event_time"
column = "country"
window_minutes = 1440
reference_minutes = 12960
max_psi = 0.25
"""


def squares(rows: int) -> tuple[int, int]:
    per_day = -(-rows // DAYS)
    return per_day, int(per_day ** 0.5) + 1  # Trino's sequence() stops at 10,000 entries: a square of two


def fill_orders(settings: Settings, rows: int) -> None:
    for day in range(DAYS):
        per_day, side = squares(rows)
        query(settings, f"""
            INSERT INTO {settings.catalog_name}.silver.orders
            SELECT CAST(uuid() AS varchar), ts, '{BENCH_USERS}' || lpad(CAST(n % 1000 AS varchar), 3, '0'),
                   element_at(ARRAY['DE', 'FR', 'NL', 'ES'], CAST(n % 4 AS integer) + 1),
                   'ORD-' || lpad(CAST(n AS varchar), 8, '0'),
                   '[{{"sku":"SKU-1001","name":"Mug","category":"kitchen","quantity":2,"unit_price":12.5}}]',
                   1, DECIMAL '25.00', 'EUR', 'hashed', 'hashed', CAST(n % 6 AS integer), n, NULL, ts
            FROM UNNEST(sequence(0, {side - 1})) AS a(i) CROSS JOIN UNNEST(sequence(0, {side - 1})) AS b(j)
            CROSS JOIN LATERAL (SELECT {day * per_day} + i * {side} + j AS n)
            CROSS JOIN LATERAL (SELECT TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' + INTERVAL '{day}' DAY
                                       + INTERVAL '1' SECOND * ((i * {side} + j) * 86400 / {per_day}) AS ts)
            WHERE i * {side} + j < {per_day} AND n < {rows}""")
        print(f"  orders: day {day + 1}/{DAYS} written", flush=True)


def fill_quarantine(settings: Settings, rows: int, replayed: int) -> None:
    """Raw payments; the first `replayed` in Swiss francs (payment.currency.enum), the rest with a bad order
    id (payment.order_id.regex)."""
    for day in range(DAYS):
        per_day, side = squares(rows)
        query(settings, f"""
            INSERT INTO {settings.catalog_name}.quarantine.events
            SELECT to_utf8(u), to_utf8(json_format(CAST(MAP(
                     ARRAY['event_id', 'event_type', 'event_time', 'user_id', 'order_id', 'amount', 'currency',
                           'method'],
                     ARRAY[CAST(uuid() AS varchar), 'payment', to_iso8601(ts), u,
                           IF(n < {replayed}, 'ORD-' || lpad(CAST(n AS varchar), 8, '0'),
                              'order-' || CAST(n AS varchar)),
                           '9.5', IF(n < {replayed}, 'CHF', 'EUR'), 'paypal']) AS JSON))),
                   'bench-replay', CAST(n % 6 AS integer), n, NULL, ts, 'payment',
                   ARRAY[IF(n < {replayed}, 'payment.currency.enum: currency=''CHF'' is not one of the allowed',
                            'payment.order_id.regex: order_id does not match')], ts
            FROM UNNEST(sequence(0, {side - 1})) AS a(i) CROSS JOIN UNNEST(sequence(0, {side - 1})) AS b(j)
            CROSS JOIN LATERAL (SELECT {day * per_day} + i * {side} + j AS n)
            CROSS JOIN LATERAL (SELECT '{BENCH_USERS}' || lpad(CAST(n % 1000 AS varchar), 3, '0') AS u,
                                       TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' + INTERVAL '{day}' DAY AS ts)
            WHERE i * {side} + j < {per_day} AND n < {rows}""")
        print(f"  quarantine: day {day + 1}/{DAYS} written", flush=True)


def timed(what: str, *args: str, ok: tuple[int, ...] = (0,)) -> float:
    started = time.monotonic()
    ran = subprocess.run([FLOWLAKE, *args], capture_output=True, text=True)
    took = time.monotonic() - started
    if ran.returncode not in ok:
        raise SystemExit(f"{what} failed ({ran.returncode}):\n{ran.stdout}\n{ran.stderr}")
    print(f"| {what} | {took:.1f} |", flush=True)
    return took


def clean(settings: Settings) -> None:
    catalog = settings.catalog_name
    for sql in (f"DELETE FROM {catalog}.silver.orders WHERE user_id LIKE '{BENCH_USERS}%'",
                f"DELETE FROM {catalog}.silver.payments WHERE user_id LIKE '{BENCH_USERS}%'",
                f"DELETE FROM {catalog}.quarantine.events WHERE source_topic = 'bench-replay'",
                f"DELETE FROM {catalog}.gold.revenue_daily WHERE day >= TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' "
                f"AND day < TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' + INTERVAL '{DAYS}' DAY",
                f"DELETE FROM {catalog}.gold.funnel_daily WHERE day >= TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' "
                f"AND day < TIMESTAMP '{FIRST_DAY} 00:00:00 UTC' + INTERVAL '{DAYS}' DAY",
                f"DELETE FROM {catalog}.quality.check_results WHERE check_name LIKE 'bench\\_%' ESCAPE '\\'"):
        query(settings, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replayed", type=int, default=100_000)
    args = parser.parse_args()
    settings = load_settings()
    print(f"{platform.machine()}, Python {platform.python_version()}, {args.rows:,} orders and {args.rows:,} "
          f"quarantined payments ({args.replayed:,} to replay), local stack", flush=True)
    clean(settings)
    started = time.monotonic()
    fill_orders(settings, args.rows)
    fill_quarantine(settings, args.rows, args.replayed)
    print(f"filled in {time.monotonic() - started:.1f} s\n\n| operation | seconds |\n|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        checks, rules = Path(scratch) / "checks.toml", Path(scratch) / "events.toml"
        checks.write_text(CHECKS)
        current = (REPO_ROOT / "udfs" / "rules" / "events.toml").read_text()
        rules.write_text(current.replace('enum = ["EUR", "USD", "GBP", "INR"]',
                                         'enum = ["EUR", "USD", "GBP", "INR", "CHF"]'))
        end = "2025-03-11T00:00:00Z"
        timed(f"flowlake check: 4 checks over {args.rows:,} orders", "check", "--file", str(checks), "--at",
              end, ok=(0, 1))
        timed(f"flowlake gold restate: {DAYS} days of {args.rows:,} orders", "gold", "restate", "--from", FIRST_DAY,
              "--until", "2025-03-11")
        timed("flowlake sample: 1,000 orders per country (4 strata)", "sample", "--table", "silver.orders", "--by",
              "country", "--per-stratum", "1000", "--seed", "1", "--where", f"user_id LIKE '{BENCH_USERS}%'",
              "--out", str(Path(scratch) / "sample.parquet"))
        timed(f"flowlake quarantine replay: {args.replayed:,} of {args.rows:,} quarantined records", "quarantine",
              "replay", "--rule", "payment.currency.enum", "--rules", str(rules))
    clean(settings)
    print("bench rows deleted", flush=True)


if __name__ == "__main__":
    main()

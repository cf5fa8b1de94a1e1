"""How long `flowlake privacy export` and `flowlake privacy erase` take for one person on a bronze table
of a million rows.

    make up && python bench/erasure_bench.py [--rows 1000000] [--users 5000]

Fills bronze.events with `--rows` raw order payloads of `--users` customers (through Trino, under a
source_topic of its own, spread over 10 days of partitions), then exports one customer's data (an access
request: the bundle's size and each table's time) and erases them from every layer, printing each step's
duration (`--users 100` gives the customer 10,000 events). Runs on the local stack: the customer's rows are erased
everywhere, and the bench rows are deleted again at the end."""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flowlake.clients.trino import query
from flowlake.config import Settings, load_settings
from flowlake.privacy import erase
from flowlake.privacy_export import export

TOPIC = "bench-erasure"
VICTIM = "U00042"


def fill(settings: Settings, rows: int, users: int, days: int = 10) -> None:
    """`rows` raw order payloads over `days` daily partitions, one INSERT per day (Trino's writer buffers a
    sorted partition in memory: a day of 100,000 rows fits the local Trino)."""
    per_day = -(-rows // days)
    side = int(per_day ** 0.5) + 1  # Trino's sequence() stops at 10,000 entries: a square of two
    for day in range(days):
        query(settings, f"""
            INSERT INTO {settings.catalog_name}.bronze.events
              (event_key, payload, source_topic, source_partition, source_offset, source_message_id,
               source_timestamp, ingested_at, headers)
            SELECT to_utf8(u), to_utf8(json_format(CAST(MAP(
                     ARRAY['event_id', 'event_type', 'event_time', 'user_id', 'order_id', 'email', 'total'],
                     ARRAY[CAST(uuid() AS varchar), 'order', to_iso8601(ts), u,
                           'ORD-' || lpad(CAST(n AS varchar), 8, '0'), lower(u) || '@example.com', '19.99'])
                     AS JSON))),
                   '{TOPIC}', CAST(n % 4 AS integer), n, NULL, ts, ts, NULL
            FROM UNNEST(sequence(0, {side - 1})) AS a(i) CROSS JOIN UNNEST(sequence(0, {side - 1})) AS b(j)
            CROSS JOIN LATERAL (SELECT {day * per_day} + i * {side} + j AS n)
            CROSS JOIN LATERAL (SELECT 'U' || lpad(CAST(n % {users} AS varchar), 5, '0') AS u,
                                       current_timestamp - INTERVAL '{day}' DAY AS ts)
            WHERE i * {side} + j < {per_day} AND n < {rows}""")
        print(f"  day {day + 1}/{days} written", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_000)
    args = parser.parse_args()
    settings = load_settings()
    print(f"{platform.machine()}, Python {platform.python_version()}, {args.rows:,} rows of {args.users:,} users, "
          f"checkpoints every {settings.checkpoint_interval_seconds} s")
    started = time.monotonic()
    fill(settings, args.rows, args.users)
    total = query(settings, f"SELECT count(*) FROM {settings.catalog_name}.bronze.events "
                            f"WHERE source_topic = '{TOPIC}'")[1][0][0]
    print(f"filled bronze.events with {total:,} rows in {time.monotonic() - started:.1f} s")

    last = [time.monotonic()]

    def step(text: str) -> None:
        now = time.monotonic()
        print(f"{now - last[0]:7.1f} s {text}")
        last[0] = now

    with tempfile.TemporaryDirectory() as out:
        started = last[0] = time.monotonic()
        bundle = export(settings, VICTIM, Path(out) / "bundle", progress=step)
        took = time.monotonic() - started
        print(f"exported {VICTIM}: {sum(t.rows for t in bundle.tables):,} rows, {bundle.bytes / 1e6:.1f} MB "
              f"({', '.join(f'{t.table} {t.rows:,}' for t in bundle.tables if t.rows)}) in {took:.1f} s")

    started = last[0] = time.monotonic()
    erasure = erase(settings, VICTIM, progress=step)
    took = time.monotonic() - started
    print(f"erased {VICTIM}: {sum(erasure.rows_removed.values()):,} rows in {took:.1f} s "
          f"({erasure.files_rewritten} files rewritten, {erasure.snapshots_expired} snapshots expired, "
          f"{len(erasure.files_deleted)} files deleted) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    query(settings, f"DELETE FROM {settings.catalog_name}.bronze.events WHERE source_topic = '{TOPIC}'")


if __name__ == "__main__":
    main()

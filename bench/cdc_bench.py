"""Change data capture on the local stack: the cdc job's throughput and lag, and what compaction does to an
upsert table's read cost. One command, one run (`make bench-cdc ARGS="--customers 10000 --rounds 4
--updates 250000"`); markdown tables for docs/benchmarks.md.

It works on the stack's own shop database and lakehouse tables (run it on a dev stack, not on data you
keep): the cdc job is stopped and its slot dropped, the shop's customers filled to --customers rows, and
the job submitted afresh (its silver tables emptied, the snapshot read again).

1. Snapshot: rows/s of the initial snapshot (submission to silver.customers holding every row).
2. Throughput: --rounds rounds of --updates row updates, each round a backlog written by a few large
   UPDATE statements (one WAL change per row) faster than the job reads it; changes/s from the first
   statement to bronze holding the round's last change, and the CPU time per change of each process
   (TaskManager JVM, its Python workers, PostgreSQL with its WAL sender, the machine) from /proc over
   the same interval. Median and spread (min-max) of the rounds.
3. Lag: while the generator makes --lag-rate single-row changes per second, a probe row updated at random
   points of the checkpoint cycle; seconds from its commit until Trino returns it from silver.customers:
   p50 and p99 against the checkpoint interval.
4. Read cost after all those updates: Trino's time for a full scan of silver.customers (median of
   --repeat after a warm-up) with its data and delete files, then `flowlake maintain --steps compact`,
   then the same again."""

from __future__ import annotations

import argparse
import platform
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.maintenance_bench import scan_seconds
from bench.pipeline_bench import _cpu, _service_process, cpu_sample, percentile, spread
from flink_jobs.registry import JOBS
from flowlake import replication, shop
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.trino import query
from flowlake.config import Settings, load_settings
from flowlake.maintain import run_once

SCAN = "SELECT country, count(*), count(DISTINCT email), max(updated_at) FROM lakehouse.silver.customers GROUP BY 1"
BATCH = 10_000  # rows per UPDATE statement: one transaction, BATCH changes in the WAL


def cpu(settings: Settings) -> dict[str, float]:
    sample = cpu_sample(settings)
    postgres = _service_process(settings, "postgres")
    if postgres is not None:  # the WAL sender is one of its children
        sample["PostgreSQL"] = _cpu(postgres) + sum(_cpu(c) for c in postgres.children(recursive=True))
    return sample


def per_change_us(before: dict[str, float], after: dict[str, float], changes: int) -> dict[str, float]:
    return {name: (after[name] - before.get(name, 0.0)) / changes * 1e6 for name in after}


def sql(settings: Settings, *statements: str) -> None:
    conn = replication.connect(settings)  # the shop's owner
    with conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def one(settings: Settings, statement: str) -> Any:
    _, [[value]] = query(settings, statement)
    return value


def restart_job(settings: Settings, customers: int) -> tuple[str, float]:
    """The cdc job stopped, its slot dropped, the shop's customers filled up, the job submitted afresh; returns
    its id and the snapshot's rows per second."""
    rest = FlinkRest(settings)
    running = rest.running_job(JOBS["cdc"].pipeline_name)
    if running:
        rest.cancel(running)
        rest.wait_for_state(running, {"CANCELED"}, timeout=120)
    replication.drop_slot(settings, settings.cdc_slot)
    shop.generate_changes(settings, 10, seed=1, progress=False)  # the products and a few customers
    sql(settings, "INSERT INTO customers (user_id, email, full_name, phone, country) "
                  "SELECT 'B' || lpad(n::text, 7, '0'), 'bench' || n || '@example.com', 'Bench Customer ' || n, "
                  "'+4915' || (10000000 + n), (ARRAY['DE','FR','US','ES','GB'])[1 + n % 5] "
                  f"FROM generate_series(1, {customers}) AS n ON CONFLICT (user_id) DO NOTHING")
    rows = len(shop.current_rows(settings, "customers", ["user_id"]))
    started = time.monotonic()
    job_id = submit(settings, "cdc", [])
    while one(settings, "SELECT count(*) FROM lakehouse.silver.customers") < rows:
        time.sleep(1)
    return job_id, rows / (time.monotonic() - started)


def throughput_round(settings: Settings, updates: int, round_no: int) -> dict[str, Any]:
    """A backlog of `updates` row updates; the job's changes/s and CPU per change until bronze has them all."""
    before_rows = one(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes")
    batches = updates // BATCH
    cpu_before, started = cpu(settings), time.monotonic()
    for batch in range(batches):
        sql(settings, f"UPDATE customers SET phone = '+4916' || ({round_no * 10**6} + {batch}), updated_at = now() "
                      f"WHERE user_id IN (SELECT user_id FROM customers WHERE user_id LIKE 'B%' ORDER BY user_id "
                      f"LIMIT {BATCH})")
    written = time.monotonic() - started
    changes = batches * BATCH
    while one(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes") < before_rows + changes:
        time.sleep(1)
    seconds = time.monotonic() - started
    return {"changes": changes, "seconds": seconds, "per_s": changes / seconds, "written_s": written,
            "cpu_us": per_change_us(cpu_before, cpu(settings), changes)}


def lag(settings: Settings, probes: int, rate: float) -> list[float]:
    """Seconds from a probe row's commit to its new updated_at in silver, under a steady trickle of changes."""
    stop = threading.Event()
    trickle = threading.Thread(target=shop.generate_changes, daemon=True,
                               kwargs={"settings": settings, "count": 10**7, "rate": rate, "seed": 7,
                                       "progress": False, "stop": stop})
    trickle.start()
    lags = []
    try:
        for _ in range(probes):
            conn = replication.connect(settings)
            with conn, conn.cursor() as cur:
                cur.execute("UPDATE customers SET updated_at = clock_timestamp() WHERE user_id = 'B0000001' "
                            "RETURNING to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
                stamp = cur.fetchone()[0]
            conn.close()
            committed = time.monotonic()
            probe = (f"SELECT count(*) FROM lakehouse.silver.customers WHERE user_id = 'B0000001' "
                     f"AND updated_at >= TIMESTAMP '{stamp}'")
            while not one(settings, probe):
                time.sleep(0.25)
            lags.append(time.monotonic() - committed)
            # A random pause: probes a fixed time after each sighting would all land at the same point of the
            # checkpoint cycle (and all show the same lag).
            time.sleep(random.uniform(1, 1 + settings.checkpoint_interval_seconds))
    finally:
        stop.set()
        trickle.join()
    return lags


def files(settings: Settings) -> tuple[int, int]:
    _, rows = query(settings, 'SELECT content, count(*) FROM lakehouse.silver."customers$files" GROUP BY 1')
    counts = {content: count for content, count in rows}
    return counts.get(0, 0), sum(count for content, count in counts.items() if content != 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--updates", type=int, default=250_000, help="row updates per round (multiple of 10,000)")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--lag-rate", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    print(f"machine: {platform.node()}, {platform.processor() or platform.machine()}, "
          f"checkpoint interval {settings.checkpoint_interval_seconds} s")

    job_id, snapshot_rate = restart_job(settings, args.customers)
    print(f"snapshot: {snapshot_rate:,.0f} rows/s (job {job_id})", flush=True)
    rounds = []
    for round_no in range(1, args.rounds + 1):
        result = throughput_round(settings, args.updates, round_no)
        rounds.append(result)
        print(f"round {round_no}: {result['changes']:,} changes in {result['seconds']:.1f} s = "
              f"{result['per_s']:,.0f}/s (written by PostgreSQL in {result['written_s']:.1f} s); CPU µs/change "
              + ", ".join(f"{k} {v:.0f}" for k, v in result["cpu_us"].items()), flush=True)
    lags = lag(settings, args.probes, args.lag_rate)
    data_before, deletes_before = files(settings)
    scan_before = scan_seconds(SCAN, args.repeat)
    started = time.monotonic()
    [report] = run_once(settings, ["silver.customers"], steps=("compact",))
    compacted = time.monotonic() - started
    data_after, deletes_after = files(settings)
    scan_after = scan_seconds(SCAN, args.repeat)

    total = sum(r["changes"] for r in rounds)
    print("\n| figure | median (min-max) |\n|---|---|")
    print(f"| changes/s | {spread([r['per_s'] for r in rounds])} |")
    for name in rounds[0]["cpu_us"]:
        print(f"| CPU µs per change, {name} | {spread([r['cpu_us'][name] for r in rounds])} |")
    print(f"| snapshot rows/s | {snapshot_rate:,.0f} |")
    print(f"| lag p50 / p99 (s) | {percentile(lags, 0.5):.1f} / {percentile(lags, 0.99):.1f} "
          f"(checkpoint interval {settings.checkpoint_interval_seconds} s) |")
    print(f"\nsilver.customers after {total:,} updates of {args.customers:,} rows:\n")
    print("| | data files | delete files | scan (s) |\n|---|---|---|---|")
    print(f"| before compaction | {data_before} | {deletes_before} | {scan_before:.2f} |")
    print(f"| after compaction ({compacted:.0f} s, errors: {report.get('errors', [])}) | {data_after} | "
          f"{deletes_after} | {scan_after:.2f} |")


if __name__ == "__main__":
    main()

"""What maintenance buys on a streamed table (`flowlake up` first; `make bench-maintenance`).

    .venv/bin/python bench/maintenance_bench.py --rate 100 --minutes 10

The medallion job runs on a fresh topic while the generator produces at --rate for --minutes (event
times = wall clock, so gold windows close as the stream goes). Then, with the job still running:
data files per partition of a few tables and the Trino time of a gold and a silver query (median of
--repeat runs after a warm-up), `flowlake maintain` on every table (each step's duration), and the
same measurements again. One run, one machine: the figures are ratios of before to after."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.clients.trino import query
from flowlake.config import load_settings
from flowlake.generate import Mix, generate
from flowlake.maintain import run_once

TABLES = ("bronze.events", "silver.orders", "gold.revenue_per_minute")
QUERIES = {
    "gold": "SELECT country, category, sum(revenue), sum(units) FROM lakehouse.gold.revenue_per_minute GROUP BY 1, 2",
    "silver": "SELECT currency, count(*), sum(total) FROM lakehouse.silver.orders GROUP BY 1",
}


def layout(table: str) -> dict[str, int]:
    namespace, name = table.split(".")
    rows = query(load_settings(), f'SELECT file_count FROM lakehouse.{namespace}."{name}$partitions"')[1]
    counts = [r[0] for r in rows]
    return {"partitions": len(counts), "files": sum(counts), "max_files_per_partition": max(counts, default=0)}


def scan_seconds(sql: str, repeat: int) -> float:
    settings = load_settings()
    query(settings, sql)  # warm-up: metadata caches, JIT
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        query(settings, sql)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(repeat: int) -> dict[str, Any]:
    return {"layout": {t: layout(t) for t in TABLES},
            "scan_seconds": {name: round(scan_seconds(sql, repeat), 3) for name, sql in QUERIES.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = load_settings()
    topic = f"bench-maint-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    rest = FlinkRest(settings)
    job_id = submit(settings, "ingest", ["--topic", topic, "--silver-topic", f"{topic}.silver",
                                         "--group-id", f"g-{topic}", "--job-name", f"bench-{topic}"])
    try:
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
        generate(settings, None, args.rate, args.minutes * 60, topic=topic, seed=11, mix=Mix(bad=0.05, duplicates=0.02))
        time.sleep(3 * settings.checkpoint_interval_seconds)
        before = measure(args.repeat)
        started = time.monotonic()
        reports = run_once(settings)
        maintenance_seconds = time.monotonic() - started
        after = measure(args.repeat)
        state = rest.job(job_id)["state"]
        failed = rest.checkpoints(job_id)["counts"]["failed"]
    finally:
        rest.cancel(job_id)
        for name in (topic, f"{topic}.silver"):
            delete_topic(settings, name)
    steps = {r["table"]: {k: r[k] for k in r if k.endswith("_seconds")} for r in reports}
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, Python {platform.python_version()}",
        "rate": args.rate, "minutes": args.minutes, "checkpoint_interval_s": settings.checkpoint_interval_seconds,
        "before": before, "after": after, "maintenance_total_seconds": round(maintenance_seconds, 1),
        "steps_seconds": {t: steps[t] for t in TABLES if t in steps},
        "job_state_after": state, "failed_checkpoints": failed,
    }
    print(json.dumps(result, indent=2))
    print("\n| | before | after | ratio |\n|---|---|---|---|")
    for table in TABLES:
        b, a = before["layout"][table]["max_files_per_partition"], after["layout"][table]["max_files_per_partition"]
        print(f"| {table}: max files per partition | {b} | {a} | {b / max(a, 1):.1f}x |")
    for name in QUERIES:
        b, a = before["scan_seconds"][name], after["scan_seconds"][name]
        print(f"| Trino {name} query, s (median of {args.repeat}) | {b:.3f} | {a:.3f} | {b / max(a, 1e-6):.2f}x |")


if __name__ == "__main__":
    main()

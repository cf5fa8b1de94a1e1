"""Throughput and file layout of the medallion job on the local stack (`flowlake up` first).

    .venv/bin/python bench/medallion_bench.py --events 50000            # events/s through the job
    .venv/bin/python bench/medallion_bench.py --rate 200 --minutes 10   # a steady run, then files per partition

Throughput: a backlog of N events is produced onto a fresh topic first, then a fresh job reads it;
events/s = records committed to silver + quarantine between the first commit and the last, over
that time (job start-up is reported apart). The
steady run produces at a fixed rate and then lists data files per partition of every table, before
and after (the tables are shared with whatever ran before on the stack)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlake.catalog import load_catalog
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import ensure_topic
from flowlake.clients.trino import query
from flowlake.config import load_settings
from flowlake.generate import Mix, generate
from iceberg.registry import SILVER_TABLE_OF
from iceberg.tables import ALL_TABLES


def committed(topic: str) -> int:
    silver = " + ".join(f"(SELECT count(*) FROM lakehouse.silver.{t})" for t in SILVER_TABLE_OF.values())
    quarantine = f"(SELECT count(*) FROM lakehouse.quarantine.events WHERE source_topic = '{topic}')"
    return int(query(load_settings(), f"SELECT {silver} + {quarantine}")[1][0][0])


def files_per_partition() -> dict[str, dict[str, int]]:
    catalog = load_catalog(load_settings())
    layout = {}
    for spec in ALL_TABLES:
        table = catalog.load_table(spec.identifier)
        if table.current_snapshot() is None:
            continue  # never written
        partitions = table.inspect.partitions().to_pylist()
        layout[spec.identifier] = {str(p["partition"]): p["file_count"] for p in partitions}
    return layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=None, help="steady mode: events per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="steady mode: how long")
    args = parser.parse_args()
    settings = load_settings()
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    job_args = ["--topic", topic, "--silver-topic", f"{topic}.silver", "--group-id", f"g-{topic}",
                "--job-name", f"bench-{topic}"]
    report: dict[str, object] = {"topic": topic}
    mix = Mix(bad=0.05, duplicates=0.02)
    rest = FlinkRest(settings)
    if args.rate is None:
        before = committed(topic)
        delivered = generate(settings, args.events, None, None, topic=topic, seed=7, mix=mix)
        expected = delivered.total()
        distinct = expected - delivered["duplicate"]  # what silver + quarantine end up with
        job_id = submit(settings, "ingest", job_args)
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
        # Timed from the first commit to the last, so that job start-up (Python workers, the first
        # checkpoint) is not counted: events/s of the running job.
        started = time.monotonic()
        first: tuple[float, int] | None = None
        done = 0
        while done < distinct and time.monotonic() - started < 1800:
            time.sleep(1)
            done = committed(topic) - before
            if first is None and done > 0:
                first = (time.monotonic(), done)
        assert first is not None, "nothing was committed"
        elapsed = time.monotonic() - first[0]
        report.update(events=expected, startup_to_first_commit_s=round(first[0] - started, 1),
                      seconds=round(elapsed, 1), events_per_s=round((done - first[1]) / max(elapsed, 1e-3), 1))
    else:
        files_before = files_per_partition()
        job_id = submit(settings, "ingest", job_args)
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
        seconds = args.minutes * 60
        generate(settings, None, args.rate, seconds, topic=topic, seed=7, mix=mix)
        time.sleep(3 * settings.checkpoint_interval_seconds)  # the last commits
        if rest.job(job_id)["state"] != "RUNNING":
            rest.wait_for_state(job_id, {"RUNNING"}, timeout=1)  # raises with the job's exception
        report.update(rate=args.rate, minutes=args.minutes, checkpoints=rest.completed_checkpoints(job_id),
                      files_per_partition=files_per_partition(), files_before=files_before)
    rest.cancel(job_id)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()

"""The medallion job under load and faults, on the local stack: one command, one run, one table.

    make bench-pipeline ARGS="--events 40000 --probe-seconds 90 --kills 3"

1. Throughput: a backlog of --events records (5 % bad, 2 % duplicates) read by the medallion job,
   records/s through it (Flink's own count at the bronze writer, first record to last); then the same
   backlog, on a topic of its own,
   read by the same job with the Python UDF replaced by pass-through SQL (`--checks passthrough`).
   The ratio is what validation, masking and privacy classification in Python cost. Each variant runs
   --rounds times, alternating, and its best round counts (the first job on a fresh TaskManager pays
   for a cold JVM).
2. Freshness at 50 % of that throughput: while the generator produces at half the measured rate, a
   probe page view every 2 s; seconds from producing it until Trino returns it from silver; p50 and
   p99 against the checkpoint interval (Iceberg commits once per checkpoint).
3. Recovery: under the same load, the TaskManager killed (SIGKILL, Python workers too) --kills times;
   seconds from the kill to the restored job's first completed checkpoint (restarting the TaskManager
   process included, as a machine or pod restart would).

Prints the machine, versions and configuration, then the results as a markdown table. Run on a quiet
stack (`make up`, no other jobs): silver counts are read per table, not per topic."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Producer

from flowlake import stack
from flowlake.config import REPO_ROOT, Settings, load_settings
from flowlake.flink import FlinkRest, submit
from flowlake.generate import Mix, generate
from flowlake.kafka import delete_topic, ensure_topic
from flowlake.process import ManagedProcess
from flowlake.runtime import Runtime
from flowlake.services import FlinkProcess
from flowlake.trino_client import connect


def environment(settings: Settings) -> str:
    pins = (REPO_ROOT / "deploy" / "requirements" / "job.txt").read_text()
    flink = re.search(r"^apache-flink==(\S+)", pins, re.M)
    pom = (REPO_ROOT / "deploy" / "maven" / "pom.xml").read_text()
    versions = dict(re.findall(r"<(iceberg|trino|kafka)\.version>([^<]+)<", pom))
    return (f"{platform.node()}: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"{platform.machine()}, Python {platform.python_version()}; Flink {flink.group(1) if flink else '?'}, "
            f"Iceberg {versions.get('iceberg', '?')}, Trino {versions.get('trino', '?')}, "
            f"Kafka {versions.get('kafka', '?')}; parallelism {settings.flink_parallelism}, "
            f"{settings.flink_taskmanager_slots} slots, TaskManager {settings.flink_taskmanager_memory}, "
            f"checkpoints every {settings.checkpoint_interval_seconds} s, {settings.events_partitions} partitions")


class Run:
    """A medallion job on a topic of its own."""

    def __init__(self, settings: Settings, checks: str) -> None:
        self.settings, self.topic = settings, f"bench-{checks}-{uuid.uuid4().hex[:8]}"
        for name in (self.topic, f"{self.topic}.silver"):
            ensure_topic(settings, name, settings.events_partitions)
        self.args = ["--topic", self.topic, "--silver-topic", f"{self.topic}.silver", "--group-id",
                     f"g-{self.topic}", "--job-name", f"bench-{self.topic}", "--checks", checks]
        self.job_id = ""

    def start(self) -> None:
        self.job_id = submit(self.settings, "ingest", self.args)
        FlinkRest(self.settings).wait_for_state(self.job_id, {"RUNNING"}, timeout=180)

    def stop(self) -> None:
        rest = FlinkRest(self.settings)
        if rest.job(self.job_id)["state"] == "RUNNING":
            rest.cancel(self.job_id)
        for name in (self.topic, f"{self.topic}.silver"):
            delete_topic(self.settings, name)


def bronze_received(settings: Settings, job_id: str) -> int:
    """Records the bronze writer has received: every record the source chain (Kafka source, checks,
    and the Python UDF chained with it) has let through."""
    vertices = FlinkRest(settings).job(job_id)["vertices"]
    return sum(int(v["metrics"].get("read-records", 0)) for v in vertices if v["name"] == "bronze-events: Writer")


def throughput(settings: Settings, run: Run, events: int) -> float:
    """records/s through the job, from the first record to the last of a backlog (start-up not counted):
    backpressure from every sink slows the source, so this is the whole job's rate."""
    generate(settings, events, None, None, topic=run.topic, seed=7, mix=Mix(bad=0.05, duplicates=0.02))
    run.start()
    deadline = time.monotonic() + 1800
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        seen = bronze_received(settings, run.job_id)
        if first is None and seen > 0:
            first = (time.monotonic(), seen)
        if seen >= events:
            assert first is not None
            return (seen - first[1]) / max(time.monotonic() - first[0], 1e-3)
    raise RuntimeError(f"{run.topic}: the job read {bronze_received(settings, run.job_id)} of {events} in 30 minutes")


def background_load(settings: Settings, run: Run, rate: float, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=generate, daemon=True, kwargs=dict(
        settings=settings, count=None, rate=rate, duration=seconds, topic=run.topic, seed=11_000_003,
        mix=Mix(bad=0.05, duplicates=0.02)))
    thread.start()
    return thread


def freshness(settings: Settings, run: Run, seconds: float) -> list[float]:
    """Seconds from producing each probe until Trino returns it from silver."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})
    cursor = connect(settings).cursor()
    pending: dict[str, float] = {}
    seen: list[float] = []
    end, next_probe = time.monotonic() + seconds, 0.0
    while time.monotonic() < end or (pending and time.monotonic() < end + 120):
        now = time.monotonic()
        if now >= next_probe and now < end:
            event_id = str(uuid.uuid4())
            event = {"event_id": event_id, "event_type": "page_view", "user_id": "U00001", "country": "DE",
                     "event_time": datetime.now(UTC).isoformat(timespec="milliseconds"), "page": "/probe",
                     "session_id": "probe"}
            producer.produce(run.topic, key=b"U00001", value=json.dumps(event).encode())
            producer.flush(10)
            pending[event_id] = time.monotonic()
            next_probe = now + 2
        if pending:
            ids = ", ".join(f"'{i}'" for i in pending)
            cursor.execute(f"SELECT event_id FROM lakehouse.silver.page_views WHERE event_id IN ({ids})")
            arrived = time.monotonic()
            for (event_id,) in cursor.fetchall():
                seen.append(arrived - pending.pop(event_id))
        time.sleep(0.25)
    return seen


def recovery(settings: Settings, run: Run, kills: int) -> list[float]:
    """Seconds from each TaskManager kill to the restored job's first completed checkpoint."""
    rest = FlinkRest(settings)
    taskmanager = FlinkProcess("flink-taskmanager", settings, Runtime(settings))
    times = []
    for _ in range(kills):
        time.sleep(20)
        counts = rest.checkpoints(run.job_id)["counts"]
        latest = (rest.checkpoints(run.job_id).get("latest") or {}).get("completed") or {}
        killed = time.monotonic()
        ManagedProcess("flink-taskmanager", settings.run_dir, settings.log_dir).crash()
        stack.start_service(taskmanager, timeout=180)
        while True:
            now = rest.checkpoints(run.job_id)
            completed = (now.get("latest") or {}).get("completed") or {}
            if now["counts"]["restored"] > counts["restored"] and completed.get("id", 0) > latest.get("id", 0):
                times.append(time.monotonic() - killed)
                break
            if time.monotonic() - killed > 600:
                raise RuntimeError("no checkpoint within 10 minutes of a TaskManager kill")
            time.sleep(0.5)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--probe-seconds", type=float, default=90)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs of each variant, alternating")
    parser.add_argument("--passthrough-factor", type=int, default=5,
                        help="the pass-through job reads this many times --events: Flink's REST metrics are "
                             "refreshed every 10 s, so each run must last a minute or more to be measured")
    args = parser.parse_args()
    settings = load_settings()
    print(environment(settings), flush=True)
    print(f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with {' '.join(sys.argv[1:]) or 'defaults'}", flush=True)

    # Each variant --rounds times, alternating, on a fresh topic and job each: the best round of each counts,
    # so that neither pays alone for a cold JVM (class loading, JIT) on the TaskManager.
    rates: dict[str, list[float]] = {"passthrough": [], "python": []}
    for _ in range(args.rounds):
        for checks in rates:
            run = Run(settings, checks)
            try:
                size = args.events * (args.passthrough_factor if checks == "passthrough" else 1)
                rates[checks].append(throughput(settings, run, size))
            finally:
                run.stop()
            print(f"{checks}: {rates[checks][-1]:,.0f} records/s", flush=True)
    sql_rate, python_rate = max(rates["passthrough"]), max(rates["python"])
    fresh: list[float] = []
    recovered: list[float] = []
    if args.probe_seconds or args.kills:
        python = Run(settings, "python")
        try:
            python.start()
            load = background_load(settings, python, python_rate / 2, args.probe_seconds + args.kills * 60 + 60)
            time.sleep(10)
            if args.probe_seconds:
                fresh = freshness(settings, python, args.probe_seconds)
                print(f"freshness over {len(fresh)} probes: p50 {percentile(fresh, 0.5):.1f} s, "
                      f"p99 {percentile(fresh, 0.99):.1f} s", flush=True)
            if args.kills:
                recovered = recovery(settings, python, args.kills)
                print(f"recovery after TaskManager kills: {', '.join(f'{t:.1f}' for t in recovered)} s", flush=True)
            load.join()
        finally:
            python.stop()

    interval = settings.checkpoint_interval_seconds
    print("\n| measure | value | ratio |\n|---|---|---|")
    print(f"| medallion job, Python UDF (records/s, best of {args.rounds}) | {python_rate:,.0f} | "
          f"{python_rate / sql_rate:.2f} of pass-through |")
    print(f"| same job, pass-through SQL (records/s, best of {args.rounds}) | {sql_rate:,.0f} | 1 |")
    if fresh:
        print(f"| freshness p50 at {python_rate / 2:,.0f} records/s (s) | {percentile(fresh, 0.5):.1f} | "
              f"{percentile(fresh, 0.5) / interval:.1f} checkpoint intervals |")
        print(f"| freshness p99 (s) | {percentile(fresh, 0.99):.1f} | {percentile(fresh, 0.99) / interval:.1f} "
              "checkpoint intervals |")
    if recovered:
        print(f"| recovery, kill to first checkpoint (s), median of {len(recovered)} | "
              f"{statistics.median(recovered):.1f} | {statistics.median(recovered) / interval:.1f} checkpoint "
              "intervals |")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(dict(
            python=python_rate, passthrough=sql_rate, freshness=fresh, recovery=recovered)))


if __name__ == "__main__":
    main()

"""The medallion job under load and faults, on the local stack: one command, one run, one table.

    make bench-pipeline ARGS="--events 60000 --rounds 3 --probe-seconds 90 --kills 3"

Every bench job writes to a catalog of its own (`bench`, warehouse and checkpoints under
<data dir>/bench), never to the lakehouse's tables: the pass-through variant stores records unmasked,
and the ingest job refuses it on any catalog whose name does not start with "bench". The bench
catalog's tables and files are dropped at the end (and at the start, after a run that died).

1. Throughput: a backlog of --events records (5 % bad, 2 % duplicates) on a topic of its own, read by
   each variant: the medallion job (`python`), the same job with the Python UDF replaced by
   pass-through SQL (`passthrough`), and an identity Python UDF into bronze alone (`bridge`: the
   ceiling PyFlink's bridge allows). records/s from the first record to the last, from Flink's own
   count of records the source emitted (refreshed every second); beside it the CPU time per event of
   each process from /proc (TaskManager JVM, its Python workers, JobManager, Kafka) and of the whole
   machine over the same interval: the figure that holds on a noisy machine. The variants run
   --rounds times, alternating; median and spread (min-max) of each.
2. Freshness at 50 % of the medallion job's median: while the generator produces at half that rate, a
   probe page view every 2 s; seconds from producing it until Trino (a second Trino serving the bench
   catalog) returns it from silver; p50 and p99 against the checkpoint interval.
3. Recovery: under the same load, the TaskManager killed (SIGKILL, Python workers too) --kills times;
   seconds from the kill to the restored job's first completed checkpoint (restarting the TaskManager
   process included, as a machine or pod restart would).

With --security alternate, every round runs twice: with the stack's security on (Kafka's TLS and
SASL/SCRAM, Flink's TLS) and off (Kafka in PLAINTEXT, Flink without TLS), Kafka and Flink restarted with
each (so both pay for cold JVMs alike); the stack is left with security on.

Prints the machine, versions and configuration, then the results as markdown tables. Run on a quiet
stack (`make up`, no other jobs)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Producer

from flowlake import stack
from flowlake.catalog import ensure_catalog, load_catalog
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.clients.trino import connect
from flowlake.config import REPO_ROOT, Settings, load_settings
from flowlake.generate import Mix, generate
from flowlake.kafka_security import client_config, grant, producer_grants
from flowlake.stack.process import ManagedProcess
from flowlake.stack.runtime import Runtime
from flowlake.stack.services import FlinkProcess, Kafka, Trino

BENCH_CATALOG = "bench"  # flink_jobs.ingest.BENCH_CATALOG_PREFIX: the only catalog pass-through may write
VARIANTS = ("python", "passthrough", "bridge")


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


def bench_settings(settings: Settings) -> Settings:
    """The stack's settings with a catalog, warehouse and checkpoints of the bench's own."""
    home = settings.data_dir / "bench"
    return settings.model_copy(update={
        "catalog_name": BENCH_CATALOG, "warehouse": (home / "warehouse").as_uri(),
        "checkpoints": (home / "checkpoints").as_uri(), "savepoints": (home / "savepoints").as_uri()})


def drop_bench_lake(settings: Settings) -> None:
    """Every table and namespace of the bench catalog, and its files."""
    catalog = load_catalog(settings)
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            catalog.drop_table(identifier)
        catalog.drop_namespace(namespace)
    shutil.rmtree(settings.data_dir / "bench", ignore_errors=True)


@contextmanager
def bench_lake(settings: Settings) -> Iterator[Settings]:
    bench = bench_settings(settings)
    drop_bench_lake(bench)  # a run that died left it
    ensure_catalog(bench)
    try:
        yield bench
    finally:
        drop_bench_lake(bench)


class Run:
    """A bench job of one variant on a topic of its own, writing to the bench catalog."""

    def __init__(self, settings: Settings, checks: str) -> None:
        assert settings.catalog_name == BENCH_CATALOG
        self.settings, self.topic = settings, f"bench-{checks}-{uuid.uuid4().hex[:8]}"
        for name in (self.topic, f"{self.topic}.silver"):
            ensure_topic(settings, name, settings.events_partitions)
        # The backlog is produced before the job's submission grants the producer its input topic.
        grant(settings, "producer", producer_grants([self.topic]))
        self.args = ["--topic", self.topic, "--silver-topic", f"{self.topic}.silver", "--group-id",
                     f"g-{self.topic}", "--job-name", f"bench-{self.topic}", "--checks", checks]
        self.job_id = ""

    def start(self) -> None:
        self.job_id = submit(self.settings, "ingest", self.args)
        FlinkRest(self.settings).wait_for_state(self.job_id, {"RUNNING"}, timeout=180)

    def stop(self) -> None:
        rest = FlinkRest(self.settings)
        if self.job_id and rest.job(self.job_id)["state"] == "RUNNING":
            rest.cancel(self.job_id)
            rest.wait_for_state(self.job_id, {"CANCELED"}, timeout=120)
        for name in (self.topic, f"{self.topic}.silver"):
            delete_topic(self.settings, name)


def records_read(settings: Settings, job_id: str) -> int:
    """Records the job's Kafka source has emitted (the source operator's numRecordsOut, summed over
    its subtasks): every record read, whatever follows it in the chain."""
    rest = FlinkRest(settings)
    total = 0
    for vertex in rest.job(job_id)["vertices"]:
        if not vertex["name"].startswith("Source"):
            continue
        base = f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics"
        names = [m["id"] for m in rest.get(base) if m["id"].endswith(".numRecordsOut")
                 and m["id"].startswith("Source__")]
        if names:
            total += sum(int(float(m.get("sum", 0))) for m in rest.get(f"{base}?get={names[0]}&agg=sum"))
    return total


# --- CPU time per process, from /proc -------------------------------------------------------------

def _service_process(settings: Settings, name: str) -> psutil.Process | None:
    return ManagedProcess(name, settings.run_dir, settings.log_dir).process()


def _cpu(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
        return float(times.user + times.system)
    except psutil.Error:
        return 0.0


def cpu_sample(settings: Settings) -> dict[str, float]:
    """CPU seconds used so far by each process group, and by the whole machine (/proc/stat)."""
    sample: dict[str, float] = {}
    taskmanager = _service_process(settings, "flink-taskmanager")
    if taskmanager is not None:
        children = taskmanager.children(recursive=True)
        python = [c for c in children if "python" in c.name()]
        sample["TaskManager JVM"] = _cpu(taskmanager) + sum(_cpu(c) for c in children if c not in python)
        sample["Python workers"] = sum(_cpu(c) for c in python)
    for label, name in (("JobManager", "flink-jobmanager"), ("Kafka", "kafka")):
        proc = _service_process(settings, name)
        if proc is not None:
            sample[label] = _cpu(proc) + sum(_cpu(c) for c in proc.children(recursive=True))
    machine = psutil.cpu_times()
    sample["machine"] = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + machine.steal
    return sample


def with_security(settings: Settings, on: bool) -> Settings:
    """Kafka, the JobManager and the TaskManager restarted with security on or off; the settings to match."""
    changed = settings.model_copy(update={"kafka_security": "sasl_ssl" if on else "none", "flink_tls": on})
    runtime = Runtime(changed)
    services = [Kafka("kafka", changed, runtime), FlinkProcess("flink-jobmanager", changed, runtime),
                FlinkProcess("flink-taskmanager", changed, runtime)]
    for service in reversed(services):
        stack.stop_service(service)
    for service in services:
        stack.start_service(service, timeout=300)
    return changed


@dataclass
class Measure:
    variant: str
    rate: float  # records/s
    cpu_us: dict[str, float]  # µs of CPU per record, per process group and for the machine


def throughput(settings: Settings, run: Run, events: int) -> Measure:
    """records/s through the job, from the first record to the last of a backlog (start-up not counted),
    with the CPU each process spent meanwhile: backpressure from every sink slows the source, so this
    is the whole job's rate."""
    generate(settings, events, None, None, topic=run.topic, seed=7, mix=Mix(bad=0.05, duplicates=0.02))
    run.start()
    deadline = time.monotonic() + 1800
    first: tuple[float, int, dict[str, float]] | None = None
    while time.monotonic() < deadline:
        time.sleep(0.25)
        seen = records_read(settings, run.job_id)
        if first is None and seen > 0:
            first = (time.monotonic(), seen, cpu_sample(settings))
        if seen >= events:
            assert first is not None
            elapsed, done = time.monotonic() - first[0], seen - first[1]
            after = cpu_sample(settings)
            cpu_us = {k: (after[k] - first[2].get(k, 0.0)) / done * 1e6 for k in after}
            return Measure(run.args[-1], done / max(elapsed, 1e-3), cpu_us)
    raise RuntimeError(f"{run.topic}: the job read {records_read(settings, run.job_id)} of {events} in 30 minutes")


def background_load(settings: Settings, run: Run, rate: float, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=generate, daemon=True, kwargs=dict(
        settings=settings, count=None, rate=rate, duration=seconds, topic=run.topic, seed=11_000_003,
        mix=Mix(bad=0.05, duplicates=0.02)))
    thread.start()
    return thread


def freshness(settings: Settings, run: Run, seconds: float) -> list[float]:
    """Seconds from producing each probe until Trino returns it from silver."""
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
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
            cursor.execute(f"SELECT event_id FROM {settings.catalog_name}.silver.page_views WHERE event_id IN ({ids})")
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


@contextmanager
def bench_trino(settings: Settings) -> Iterator[Settings]:
    """A second Trino serving the bench catalog (the stack's serves the lakehouse only)."""
    served = settings.model_copy(update={"trino_port": settings.trino_port + 100,
                                         "trino_https_port": settings.trino_https_port + 100, "trino_heap": "1G"})
    trino = Trino("trino-bench", served, Runtime(served))
    stack.start_service(trino, timeout=300)
    try:
        yield served
    finally:
        stack.stop_service(trino)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def report(measures: list[Measure]) -> str:
    """One markdown table: per variant, records/s and CPU µs per record of each process, median (min-max)."""
    by_variant = {v: [m for m in measures if m.variant == v] for v in dict.fromkeys(m.variant for m in measures)}
    by_variant = {v: ms for v, ms in by_variant.items() if ms}
    groups = [g for g in ("TaskManager JVM", "Python workers", "JobManager", "Kafka", "machine")
              if any(g in m.cpu_us for m in measures)]
    passthrough = [m for m in measures if m.variant.startswith("passthrough")] or measures
    reference = statistics.median(m.rate for m in passthrough)
    lines = ["| variant | records/s | of pass-through | " + " | ".join(f"{g} µs/record" for g in groups) + " |",
             "|---|---|---|" + "---|" * len(groups)]
    for variant, ms in by_variant.items():
        rate = statistics.median(m.rate for m in ms)
        cells = [spread([m.cpu_us.get(g, 0.0) for m in ms]) for g in groups]
        lines.append(f"| {variant} | {spread([m.rate for m in ms])} | {rate / reference:.2f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000, help="backlog each throughput run reads")
    parser.add_argument("--probe-seconds", type=float, default=90)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each variant, alternating")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--security", choices=("on", "alternate"), default="on",
                        help="alternate: each round with Kafka's and Flink's TLS and authentication on, then off")
    args = parser.parse_args()
    stack_settings = load_settings()
    print(environment(stack_settings), flush=True)
    print(f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with {' '.join(sys.argv[1:]) or 'defaults'}", flush=True)
    modes = (True, False) if args.security == "alternate" else (None,)
    with bench_lake(stack_settings) as bench:
        measures: list[Measure] = []
        settings = bench
        try:
            for round_number in range(args.rounds):
                for mode in modes:
                    if mode is not None:
                        settings = with_security(bench, mode)
                    for variant in args.variants:
                        run = Run(settings, variant)
                        try:
                            measures.append(throughput(settings, run, args.events))
                        finally:
                            run.stop()
                        if mode is not None:
                            measures[-1].variant = f"{variant}, security {'on' if mode else 'off'}"
                        cpu = ", ".join(f"{k} {v:,.0f}" for k, v in measures[-1].cpu_us.items())
                        print(f"round {round_number + 1} {measures[-1].variant}: {measures[-1].rate:,.0f} records/s; "
                              f"CPU µs/record: {cpu}", flush=True)
        finally:
            if args.security == "alternate":
                settings = with_security(bench, True)
        python_rate = statistics.median(m.rate for m in measures if m.variant.startswith("python")) \
            if "python" in args.variants else 0.0
        fresh: list[float] = []
        recovered: list[float] = []
        if python_rate and (args.probe_seconds or args.kills):
            with bench_trino(settings) as served:
                python = Run(served, "python")
                try:
                    python.start()
                    load = background_load(served, python, python_rate / 2,
                                           args.probe_seconds + args.kills * 60 + 60)
                    time.sleep(10)
                    if args.probe_seconds:
                        fresh = freshness(served, python, args.probe_seconds)
                        print(f"freshness over {len(fresh)} probes: p50 {percentile(fresh, 0.5):.1f} s, "
                              f"p99 {percentile(fresh, 0.99):.1f} s", flush=True)
                    if args.kills:
                        recovered = recovery(served, python, args.kills)
                        print(f"recovery after TaskManager kills: {', '.join(f'{t:.1f}' for t in recovered)} s",
                              flush=True)
                    load.join()
                finally:
                    python.stop()

    interval = stack_settings.checkpoint_interval_seconds
    print(f"\nthroughput, {args.rounds} alternating rounds of {args.events:,} records each: median (min-max)\n")
    print(report(measures))
    if fresh or recovered:
        print("\n| measure | value | ratio |\n|---|---|---|")
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
            throughput=[m.__dict__ for m in measures], freshness=fresh, recovery=recovered)))


if __name__ == "__main__":
    main()

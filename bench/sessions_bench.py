"""State size of the sessions job against the number of active users, on the local stack
(`flowlake up` first).

    .venv/bin/python bench/sessions_bench.py --users 10000 100000 [--state-backend rocksdb]

For each count N, a fresh job on a fresh silver-format topic reads one page view and one card payment
for each of N users (every user then has an open session, every card a recent payment), then a
page view a minute later on every partition, so that the watermark moves the buffered events into the
session and velocity state. Reported once every event is read and a checkpoint has completed after
that: the checkpointed state size, bytes per active user, and the checkpoint durations seen."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings, load_settings
from flowlake.kafka_security import client_config


def produce(settings: Settings, topic: str, users: int, start: datetime) -> int:
    producer = Producer({**client_config(settings, "admin"), "linger.ms": 50, "compression.type": "lz4"})
    sent = 0

    def send(event: dict[str, Any], at: datetime, partition: int | None = None) -> None:
        nonlocal sent
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, key=event["user_id"].encode(), value=json.dumps(event).encode(),
                         timestamp=int(at.timestamp() * 1000), **extra)
        sent += 1
        if sent % 50_000 == 0:
            producer.flush(60)

    for n in range(users):
        at = start + timedelta(milliseconds=n * 500 // max(users, 1))  # all within half a second
        common = {"user_id": f"B{n:07d}", "country": "DE", "event_time": at.isoformat(timespec="milliseconds")}
        send({**common, "event_id": f"pv-{n}", "event_type": "page_view", "page": "/"}, at)
        send({**common, "event_id": f"pay-{n}", "event_type": "payment", "amount": 12.5, "currency": "EUR",
              "method": "card", "card_token": f"<CREDIT_CARD#bench{n:07d}>"}, at)
    later = start + timedelta(minutes=1)
    for partition in range(settings.events_partitions):
        send({"user_id": "tick", "country": "DE", "event_time": later.isoformat(timespec="milliseconds"),
              "event_id": f"tick-{partition}", "event_type": "page_view", "page": "/"}, later, partition)
    assert producer.flush(120) == 0
    return sent


def source_records_in(rest: FlinkRest, job_id: str) -> int:
    """Records the job's source has emitted, from the REST API's vertex metrics."""
    vertices = rest.job(job_id)["vertices"]
    return int(sum(v["metrics"]["write-records"] for v in vertices if v["name"].startswith("Source")))


def measure(settings: Settings, users: int, state_backend: str | None) -> dict[str, Any]:
    topic = f"bench-silver-{uuid.uuid4().hex[:8]}"
    alerts = f"{topic}-alerts"
    for name in (topic, alerts):
        ensure_topic(settings, name, settings.events_partitions)
    rest = FlinkRest(settings)
    job_args = ["--silver-topic", topic, "--alerts-topic", alerts, "--group-id", f"g-{topic}",
                "--job-name", f"bench-{topic}", "--out-of-orderness-seconds", "5", "--idle-timeout-seconds", "0"]
    job_args += ["--state-backend", state_backend] if state_backend else []
    sent = produce(settings, topic, users, datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    job_id = submit(settings, "sessions", job_args)
    try:
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
        started = time.monotonic()
        while source_records_in(rest, job_id) < sent:
            if time.monotonic() - started > 1800:
                raise TimeoutError(f"the job read {source_records_in(rest, job_id)} of {sent} records in 30 min")
            time.sleep(2)
        read_seconds = time.monotonic() - started
        # Two more completed checkpoints: the second one starts after everything read was applied.
        target = rest.completed_checkpoints(job_id) + 2
        while rest.completed_checkpoints(job_id) < target:
            time.sleep(1)
        stats = rest.checkpoints(job_id)
        latest = stats["latest"]["completed"]
        durations = [c["end_to_end_duration"] for c in stats["history"] if c["status"] == "COMPLETED"]
        size = int(latest["state_size"])  # the whole state (checkpointed_size: what this one uploaded)
        return {"users": users, "records": sent, "read_seconds": round(read_seconds, 1),
                "state_backend": state_backend or "cluster default", "state_bytes": size,
                "bytes_per_user": round(size / users, 1), "uploaded_bytes": int(latest["checkpointed_size"]),
                "checkpoint_ms": {"min": min(durations), "max": max(durations), "last": durations[0]}}
    finally:
        rest.cancel(job_id)
        for name in (topic, alerts):
            delete_topic(settings, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--state-backend", choices=("hashmap", "rocksdb"), default=None)
    args = parser.parse_args()
    settings = load_settings()
    results = [measure(settings, users, args.state_backend) for users in args.users]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

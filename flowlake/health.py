"""What `flowlake status` shows an SRE after the services: the Flink jobs with their state and last
checkpoint, consumer lag per group and topic (read from Kafka, as the exporter does), the quarantine
rate (from Prometheus' recording rule), and a warning when Kafka keeps raw events longer than an
erasure may take."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import requests

from flowlake.clients.flink import FlinkRest
from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.exporter import KafkaLagCollector, lags


@dataclass(frozen=True)
class JobHealth:
    name: str
    job_id: str
    state: str
    uptime_seconds: float
    checkpoint_age_seconds: float | None  # since the last completed checkpoint
    checkpoint_duration_ms: int | None
    failed_checkpoints: int
    restarts: int


def job_health(job: dict[str, Any], checkpoints: dict[str, Any], now_ms: float) -> JobHealth:
    """One job from Flink's REST answers (/jobs/overview entry, /jobs/<id>/checkpoints)."""
    counts = checkpoints.get("counts") or {}
    latest = (checkpoints.get("latest") or {}).get("completed") or {}
    acked = latest.get("latest_ack_timestamp")
    return JobHealth(
        name=str(job["name"]), job_id=str(job["jid"]), state=str(job["state"]),
        uptime_seconds=float(job.get("duration", 0)) / 1000,
        checkpoint_age_seconds=(now_ms - acked) / 1000 if acked else None,
        checkpoint_duration_ms=latest.get("end_to_end_duration"),
        failed_checkpoints=int(counts.get("failed", 0)),
        restarts=int(counts.get("restored", 0)))


def live_jobs_health(settings: Settings) -> list[JobHealth]:
    rest = FlinkRest(settings)
    now_ms = time.time() * 1000
    return [job_health(job, rest.checkpoints(job["jid"]), now_ms) for job in rest.live_jobs()]


def lag_per_topic(settings: Settings) -> dict[tuple[str, str], int]:
    """(group, topic) -> records between the committed offsets and the end, summed over partitions."""
    ends, committed = KafkaLagCollector(settings, settings.exporter_group_pattern).offsets()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for item in lags(committed, ends):
        totals[(item.group, item.topic)] += item.lag
    return dict(totals)


def quarantine_rates(settings: Settings) -> dict[str, float]:
    """job name -> share of records quarantined over the last 5 minutes."""
    try:
        response = requests.get(f"{settings.prometheus_url}/api/v1/query",
                                params={"query": "flowlake:quarantine_ratio:rate5m"}, timeout=5)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise FlowlakeError(f"Prometheus not reachable at {settings.prometheus_url}: run `flowlake up`") from exc
    return {r["metric"].get("job_name", "?"): float(r["value"][1]) for r in response.json()["data"]["result"]}


def retention_warning(topic: str, retention_ms: int | None, deadline_days: int) -> str | None:
    """Kafka keeping raw events longer than an erasure may take undoes the erasure: the records can be
    read again from the topic. None when the topic's retention is within the deadline (or unknown)."""
    if retention_ms is None or 0 <= retention_ms <= deadline_days * 86_400_000:
        return None
    kept = "for ever" if retention_ms < 0 else f"{retention_ms / 86_400_000:.0f} days"
    return (f"Kafka keeps the raw events of topic {topic} {kept}, longer than the {deadline_days} days an erasure may "
            f"take: an erased person's records can be read again from there. Lower it: kafka-configs.sh --alter "
            f"--entity-type topics --entity-name {topic} --add-config retention.ms={deadline_days * 86_400_000 // 2}")


def topic_retention_ms(settings: Settings, topic: str) -> int | None:
    """The topic's retention.ms as the broker applies it (its own or the broker's default); None if the topic
    does not exist."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

    from flowlake.clients.kafka import admin_client

    resource = ConfigResource(ResourceType.TOPIC, topic)
    admin = admin_client(settings)  # held until the answer: a collected client cancels its requests
    try:
        configs = admin.describe_configs([resource], request_timeout=10)[resource].result()
    except KafkaException as exc:
        if "UNKNOWN_TOPIC" in str(exc):
            return None
        raise
    return int(configs["retention.ms"].value)

"""Alerts delivered end to end on the real stack: Prometheus evaluates the rules on real metrics, Alertmanager
routes and notifies, the local receiver records. A producer that stops while the job runs is reported as a
silent source; the exporter stopped is reported (and the alerts computed from its metrics are not), and
resolved once it is back. (A job that stops is in test_observability.py, where the job is stopped anyway.)
And the logs those services write: JSON lines."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from flowlake import logs, stack
from flowlake.alerts import FROM_EXPORTER
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.generate import generate
from flowlake.kafka_security import client_config, grant, producer_grants
from flowlake.stack.process import ManagedProcess
from flowlake.stack.runtime import Runtime
from flowlake.stack.services import LagExporter

from . import alerting
from .conftest import IngestJob

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_a_producer_that_stops_is_reported_as_a_silent_source(local_stack: Settings) -> None:
    """A topic of its own with a consumer group that has committed offsets (as the jobs' groups do): the
    session's job and its topic are left alone (test_medallion counts everything on them)."""
    settings = local_stack
    topic = f"it-silent-{uuid.uuid4().hex[:8]}"
    ensure_topic(settings, topic, 1)
    grant(settings, "producer", producer_grants([topic]))  # what `flowlake submit ingest` does for its --topic
    consumer = Consumer({**client_config(settings, "admin"), "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        generate(settings=settings, count=None, rate=20.0, duration=20.0, topic=topic,
                 seed=random.randrange(10**6, 10**9))
        stopped_at = alerting.now()
        consumer.subscribe([topic])
        message = None
        while message is None or message.error():
            message = consumer.poll(10)
        consumer.commit(message=message, asynchronous=False)  # a group reads the topic: its silence matters
        # Silent for the scaled window (10 min / 10), then the scaled `for:`.
        notice = alerting.wait_delivered(settings, "KafkaSourceSilent", "firing", stopped_at, timeout=180,
                                         topic=topic)
        assert notice["receiver"] == "ticket"
        assert notice["summary"] == f"No records reached topic {topic} for 10 minutes"
    finally:
        consumer.close()
        delete_topic(settings, topic)


def test_the_exporter_stopped_is_reported_and_resolved_when_it_is_back(local_stack: Settings) -> None:
    settings = local_stack
    stopped_at = alerting.now()
    ManagedProcess("exporter", settings.run_dir, settings.log_dir).crash()
    try:
        alerting.wait_delivered(settings, "FlowlakeExporterDown", "firing", stopped_at, timeout=120,
                                job="flowlake-exporter")
    finally:
        stack.start_service(LagExporter("exporter", settings, Runtime(settings)), timeout=120)
    resolved = alerting.wait_delivered(settings, "FlowlakeExporterDown", "resolved", stopped_at, timeout=120,
                                       job="flowlake-exporter")
    # No alert computed from the exporter's metrics started meanwhile (their series were gone, and they are
    # held back). Times to the second, both UTC: Alertmanager writes nanoseconds and a Z.
    fired = [n for n in alerting.delivered_any(settings, "firing", stopped_at)
             if n["alertname"] in FROM_EXPORTER.split("|") and n["starts_at"][:19] > stopped_at[:19]
             and n["received_at"] < resolved["received_at"]]
    assert fired == []


def test_flink_and_the_flowlake_services_log_json_lines(local_stack: Settings, ingest_job: IngestJob) -> None:
    """What `flowlake logs` reads: every line of the exporter's and the alert receiver's logs, and of Flink's own
    log files, is a JSON object naming its service; the TaskManager's name the job their task works for."""
    settings = local_stack
    files = logs.log_files(settings.log_dir, None)
    for service in ("exporter", "alert-receiver"):
        records = logs.read({service: files[service]}, 10_000)
        assert records and not [r for r in records if r.get("unstructured")], (service, records[:3])
        assert {r["service"] for r in records} == {service}
    for service in ("flink-jobmanager", "flink-taskmanager"):
        flink_files = [path for path in files[service] if path.suffix == ".log"]
        assert flink_files, f"no Flink log file of {service}"
        records = logs.read({service: flink_files}, 100_000)
        assert records and not [r for r in records if r.get("unstructured")], (service, records[:3])
        assert {r["service"] for r in records} == {service}
        assert all({"@timestamp", "level", "logger", "thread", "message"} <= set(r) for r in records)
    job_ids = {r.get("job_id") for r in logs.read({"flink-taskmanager": files["flink-taskmanager"]}, 100_000)}
    assert ingest_job.job_id in job_ids
    shown = subprocess.run([str(Path(sys.executable).parent / "flowlake"), "logs", "exporter", "-n", "5"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and " exporter " in shown.stdout, shown.stdout + shown.stderr

"""The PII hash key, on real processes: without one the medallion job is refused before it is
submitted; with workers whose key differs from the submitting client's, the job writes nothing, so no
record is ever stored masked with the wrong key or unmasked."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import REPO_ROOT, Settings
from flowlake.kafka_security import client_config
from flowlake.stack.runtime import Runtime
from udfs.masking import HASH_KEY_ENV

from .conftest import wait_until
from .lakehouse import page_view, q

pytestmark = pytest.mark.integration


def test_without_a_key_the_job_is_refused_at_the_start(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k != HASH_KEY_ENV}
    result = subprocess.run([str(Runtime(settings).job_python), str(REPO_ROOT / "flink_jobs" / "ingest.py"),
                             "--catalog-jdbc-url", "jdbc:postgresql://127.0.0.1:1/none", "--warehouse", "file:///none"],
                            env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode != 0
    assert "not submitted" in result.stderr and HASH_KEY_ENV in result.stderr, result.stderr[-2000:]


def test_workers_with_another_key_than_the_client_write_nothing(local_stack: Settings,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings, rest = local_stack, FlinkRest(local_stack)
    topic = f"it-key-{uuid.uuid4().hex[:8]}"
    ensure_topic(settings, topic, settings.events_partitions)
    ensure_topic(settings, f"{topic}.silver", settings.events_partitions)
    monkeypatch.setenv(HASH_KEY_ENV, "not-the-taskmanagers-key")  # the client's; the workers have the stack's
    job_id = submit(settings, "ingest", ["--topic", topic, "--silver-topic", f"{topic}.silver",
                                         "--group-id", f"g-{topic}", "--job-name", f"ingest-{topic}"])
    monkeypatch.delenv(HASH_KEY_ENV)
    try:
        producer = Producer(client_config(settings, "admin"))
        ids = []
        for _ in range(50):
            event = page_view(datetime.now(UTC) - timedelta(hours=30), "U00009", "/")
            ids.append(event["event_id"])
            producer.produce(topic, key=b"U00009", value=json.dumps(event).encode())
        assert producer.flush(30) == 0

        def mismatches() -> int:
            history = rest.get(f"/jobs/{job_id}/exceptions").get("exceptionHistory", {}).get("entries", [])
            return sum("KeyMismatch" in entry.get("stacktrace", "") for entry in history)

        wait_until(lambda: mismatches() >= 2, timeout=300, interval=5, what="the workers refusing the key, twice")
        time.sleep(2 * settings.checkpoint_interval_seconds)
        # Every checkpoint that covers a record needs the UDF, which fails: nothing is committed anywhere.
        assert q(settings, f"SELECT count(*) FROM lakehouse.bronze.events WHERE source_topic = '{topic}'") == [[0]]
        listed = ", ".join(f"'{i}'" for i in ids)
        assert q(settings, f"SELECT count(*) FROM lakehouse.silver.page_views WHERE event_id IN ({listed})") == [[0]]
    finally:
        rest.cancel(job_id)
        for name in (topic, f"{topic}.silver"):
            delete_topic(settings, name)

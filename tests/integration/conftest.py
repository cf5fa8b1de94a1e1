"""One real local stack per test session, on its own data dir and ports (default + 10000), so a
developer's own stack can keep running. Started once, stopped at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowlake import stack
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.errors import ServiceUnavailable
from flowlake.generate import SteppingClock

TEST_PORTS = {
    "FLOWLAKE_KAFKA_PORT": "19092",
    "FLOWLAKE_KAFKA_CONTROLLER_PORT": "19093",
    "FLOWLAKE_POSTGRES_PORT": "15433",
    "FLOWLAKE_FLINK_REST_PORT": "18081",
    "FLOWLAKE_FLINK_RPC_PORT": "16123",
    "FLOWLAKE_FLINK_METRICS_PORTS": "19249-19252",
    "FLOWLAKE_TRINO_PORT": "18080",
    "FLOWLAKE_TRINO_HTTPS_PORT": "18443",
    "FLOWLAKE_PROMETHEUS_PORT": "19090",
    "FLOWLAKE_PULSAR_ENABLED": "true",
    "FLOWLAKE_PULSAR_PORT": "16650",
    "FLOWLAKE_PULSAR_WEB_PORT": "18085",
    "FLOWLAKE_PULSAR_BOOKIE_PORT": "13181",
    "FLOWLAKE_MAINTENANCE_METRICS_PORT": "19256",
    "FLOWLAKE_EXPORTER_PORT": "19257",
    "FLOWLAKE_ALERTMANAGER_PORT": "19095",
    "FLOWLAKE_ALERT_RECEIVER_PORT": "19258",
    # Alerts proven end to end in a minute: every `for:` and window a tenth, Alertmanager notifying at once.
    "FLOWLAKE_ALERT_TIME_SCALE": "0.1",
    "FLOWLAKE_ALERT_GROUP_WAIT_SECONDS": "1",
    "FLOWLAKE_ALERT_GROUP_INTERVAL_SECONDS": "5",
    "FLOWLAKE_PRIVACY_METRICS_INTERVAL_SECONDS": "10",
    # Half the default: every wait for a commit (and there are dozens) is about one interval.
    "FLOWLAKE_CHECKPOINT_INTERVAL_SECONDS": "5",
    "FLOWLAKE_S3_ENABLED": "true",
    "FLOWLAKE_S3_PORT": "19000",
}


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    # /var/tmp, not pytest's tmp dir: PostgreSQL runs as another user when we are root and must
    # reach its data dir.
    data_dir = Path(tempfile.mkdtemp(prefix="flowlake-test-", dir="/var/tmp"))
    data_dir.chmod(0o755)
    env = {**TEST_PORTS, "FLOWLAKE_DATA_DIR": str(data_dir)}
    os.environ.update(env)  # for the `flowlake` commands the tests run
    yield Settings()
    for key in env:
        os.environ.pop(key, None)
    if not os.environ.get('KEEP_TEST_DATA'):
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print('kept', data_dir)


@pytest.fixture(scope="session")
def local_stack(settings: Settings) -> Iterator[Settings]:
    try:
        stack.up(settings)
        yield settings
    finally:
        stack.down(settings)


@dataclass
class IngestJob:
    job_id: str
    topic: str
    args: list[str]
    # Event time for everything produced onto the topic: laid out hours in the past, 50 ms per event,
    # always increasing across the tests of the session (the job's watermark only moves forward).
    clock: SteppingClock = field(default_factory=lambda: SteppingClock(
        datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)))


@pytest.fixture(scope="session")
def ingest_job(local_stack: Settings) -> Iterator[IngestJob]:
    """The medallion job on a topic of its own. Tests that restart it update `job_id`."""
    settings = local_stack
    topic = f"it-events-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    ensure_topic(settings, f"{topic}.consent", settings.events_partitions, {"cleanup.policy": "compact"})
    args = ["--topic", topic, "--silver-topic", f"{topic}.silver", "--consent-topic", f"{topic}.consent",
            "--group-id", f"g-{topic}", "--job-name", f"ingest-{topic}",
            # No idleness: which events are late is then exactly predictable (see test_medallion).
            "--allowed-lateness-seconds", "30", "--idle-timeout-seconds", "0"]
    job = IngestJob(submit(settings, "ingest", args), topic, args)
    FlinkRest(settings).wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    yield job
    rest = FlinkRest(settings)
    try:
        jobs = rest.jobs()
    except ServiceUnavailable:  # the stack stopped by the lifecycle test, which runs last: nothing is left
        return
    if any(j["jid"] == job.job_id and j["state"] == "RUNNING" for j in jobs):  # gone if a JobManager died
        rest.cancel(job.job_id)
    for name in (topic, f"{topic}.silver", f"{topic}.consent"):
        delete_topic(settings, name)


def wait_until(predicate, timeout: float, interval: float = 1.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s (last value: {last!r})")


def assert_each_once(found: Counter[str], expected: Iterable[str], what: str) -> None:
    """`found` holds every expected id exactly once and nothing else; else an error that counts the
    missing, doubled and unexpected ids (with a few examples) instead of diffing thousands of them."""
    expected = set(expected)
    missing = sorted(expected - found.keys())
    doubled = sorted(i for i, n in found.items() if n > 1)
    unexpected = sorted(found.keys() - expected)
    problems = [f"{len(ids)} {kind} (e.g. {', '.join(ids[:3])})"
                for kind, ids in (("missing", missing), ("doubled", doubled), ("unexpected", unexpected)) if ids]
    assert not problems, f"{what}: of {len(expected)} expected ids, " + "; ".join(problems)

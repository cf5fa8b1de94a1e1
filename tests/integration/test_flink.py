from __future__ import annotations

import pytest

from flowlake.clients.flink import FlinkRest
from flowlake.config import Settings

from .conftest import IngestJob, wait_until

pytestmark = pytest.mark.integration


def test_session_cluster_reports_taskmanager_and_slots(local_stack: Settings) -> None:
    rest = FlinkRest(local_stack)
    taskmanagers = rest.get("/taskmanagers")["taskmanagers"]
    assert len(taskmanagers) == 1
    assert taskmanagers[0]["slotsNumber"] == local_stack.flink_taskmanager_slots >= 2
    assert rest.get("/overview")["flink-version"].startswith("1.20")


def test_submitted_job_runs_and_completes_checkpoints(local_stack: Settings, ingest_job: IngestJob) -> None:
    job_id = ingest_job.job_id
    rest = FlinkRest(local_stack)
    assert rest.job(job_id)["state"] == "RUNNING"
    # The first checkpoint may fail while the job warms up; two completed ones prove the cycle.
    wait_until(lambda: rest.completed_checkpoints(job_id) >= 2, timeout=120, what="2 completed checkpoints")
    config = rest.get(f"/jobs/{job_id}/checkpoints/config")
    assert config["mode"] == "exactly_once"
    assert config["interval"] == local_stack.checkpoint_interval_seconds * 1000

from __future__ import annotations

import pytest
import requests

from flowlake.config import Settings

from .conftest import IngestJob, wait_until

pytestmark = pytest.mark.integration


def _completed_checkpoints(settings: Settings, job_id: str) -> float | None:
    response = requests.get(f"{settings.prometheus_url}/api/v1/query", timeout=10, params={
        "query": f'flink_jobmanager_job_numberOfCompletedCheckpoints{{job_id="{job_id}"}}'})
    response.raise_for_status()
    result = response.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_flink_checkpoint_metric(local_stack: Settings, ingest_job: IngestJob) -> None:
    job_id = ingest_job.job_id
    value = wait_until(lambda: (_completed_checkpoints(local_stack, job_id) or 0) >= 1, timeout=120,
                       what="a completed-checkpoint count in Prometheus")
    assert value


def test_both_flink_processes_are_scrape_targets(local_stack: Settings) -> None:
    def scraped_flink_processes() -> set[str]:
        promql = "count by (__name__) ({__name__=~'flink_(jobmanager|taskmanager)_Status_JVM_CPU_Load'})"
        response = requests.get(f"{local_stack.prometheus_url}/api/v1/query", timeout=10, params={"query": promql})
        return {r["metric"]["__name__"] for r in response.json()["data"]["result"]}

    found = wait_until(lambda: len(scraped_flink_processes()) == 2 and scraped_flink_processes(), timeout=60,
                       what="JobManager and TaskManager scraped")
    assert found == {"flink_jobmanager_Status_JVM_CPU_Load", "flink_taskmanager_Status_JVM_CPU_Load"}

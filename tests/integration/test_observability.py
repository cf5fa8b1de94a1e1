"""Observability on real services: the local Prometheus scrapes the real Flink jobs and the Kafka lag
exporter, and every expression of every dashboard panel and alert rule (read from deploy/, not
repeated here) returns data while the pipeline runs. Stopping the consumer job while producing pages
through Alertmanager, makes the exporter's lag rise until the lag alert fires (held back: its job is down);
after a restart the job catches up and the page is resolved."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from flowlake.clients.flink import FlinkRest, submit
from flowlake.config import Settings
from flowlake.generate import Mix, generate
from tests.promql import dashboard_exprs, rules, series_parts

from . import alerting
from .conftest import IngestJob, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def promql(settings: Settings, expr: str) -> list[dict[str, Any]]:
    response = requests.get(f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    assert response.status_code == 200, f"{expr}: {response.text}"
    return list(response.json()["data"]["result"])


def expressions() -> dict[str, str]:
    """Everything that must return data: dashboard targets, recorded expressions, alert operands. Not the
    maintenance scheduler's alerts: it is not a service of the test stack (test_medallion_maintenance runs
    one and checks those); nor the replication slots' (test_cdc checks those while its slot exists)."""
    found = {f"dashboard {name}": expr for name, expr in dashboard_exprs().items()}
    for rule in rules():
        if "record" in rule:
            found[f"record {rule['record']}"] = rule["expr"]
        elif not rule["alert"].startswith(("Maintenance", "Cdc")):
            for i, part in enumerate(series_parts(rule["expr"])):
                found[f"alert {rule['alert']} ({i})"] = part
    return found


def test_every_dashboard_and_alert_expression_returns_data(local_stack: Settings, ingest_job: IngestJob) -> None:
    settings, job = local_stack, ingest_job
    # Events flowing while Prometheus evaluates (rates over 5 min need data within them), with some
    # bad and duplicate ones: which rules fail is a panel, and exists only once one has failed.
    enough = threading.Event()
    producing = threading.Thread(target=generate, kwargs=dict(
        settings=settings, count=None, rate=20.0, duration=150.0, topic=job.topic, seed=91, clock=job.clock,
        mix=Mix(bad=0.03, duplicates=0.03), stop=enough))
    producing.start()
    # The table checks' metrics exist once a check has run (the exporter reads their latest results).
    checked = subprocess.run([str(Path(sys.executable).parent / "flowlake"), "check", "--table", "gold.funnel_hourly"],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr  # 1: a check failed, a result all the same
    try:
        todo = expressions()
        assert len(todo) > 40

        def all_answered() -> bool:
            for name in [n for n, expr in todo.items() if promql(settings, expr)]:
                del todo[name]
            return not todo

        try:
            wait_until(all_answered, timeout=240, interval=10, what="data for every expression")
        except AssertionError:
            raise AssertionError(f"no data for: {todo}") from None
    finally:
        enough.set()
        producing.join()


def test_a_stopped_job_pages_through_alertmanager_and_holds_back_its_lag_alert(
        local_stack: Settings, ingest_job: IngestJob) -> None:
    """Stopping the consumer job while producing: FlinkJobNotRunning reaches the receiver through Prometheus
    and Alertmanager, the lag rises until KafkaConsumerLagGrowing fires, and Alertmanager holds that one back
    (inhibited by the job's alert, matched on the consumer group); after a restart the job catches up and
    the resolution is delivered too."""
    settings, job = local_stack, ingest_job
    group = f"g-{job.topic}"
    name = f"ingest-{job.topic}"
    lag_query = f'sum(flowlake_kafka_consumergroup_lag{{group="{group}"}})'
    alert = next(r for r in rules() if r.get("alert") == "KafkaConsumerLagGrowing")
    alert_query = f'({alert["expr"]})' + f' and on (group) label_replace(vector(1), "group", "{group}", "", "")'

    def lag() -> float:
        result = promql(settings, lag_query)
        return float(result[0]["value"][1]) if result else -1

    wait_until(lambda: lag() == 0, timeout=120, interval=5, what="the group caught up before the stop")
    rest = FlinkRest(settings)
    stopped_at = alerting.now()
    savepoint = rest.stop_with_savepoint(job.job_id)
    enough = threading.Event()
    producing = threading.Thread(target=generate, kwargs=dict(
        settings=settings, count=None, rate=50.0, duration=110.0, topic=job.topic, seed=92, clock=job.clock,
        stop=enough))
    producing.start()
    try:
        paged = alerting.wait_delivered(settings, "FlinkJobNotRunning", "firing", stopped_at, timeout=120,
                                        job_name=name, group=group)
        assert paged["receiver"] == "page" and paged["severity"] == "critical"
        wait_until(lambda: promql(settings, alert_query), timeout=150, interval=5,
                   what="the KafkaConsumerLagGrowing expression to hold")
        assert lag() > 500
        wait_until(lambda: alerting.held_back(settings, "KafkaConsumerLagGrowing", group=group), timeout=90,
                   interval=3, what="Alertmanager holding back the lag alert of the stopped job's group")
    finally:
        enough.set()  # the lag has shown what it had to
        producing.join()
        job.job_id = submit(settings, "ingest", job.args, from_savepoint=savepoint)
    rest.wait_for_state(job.job_id, {"RUNNING"}, timeout=180)
    resolved = alerting.wait_delivered(settings, "FlinkJobNotRunning", "resolved", stopped_at, timeout=120,
                                       job_name=name, group=group)
    # Held back all the while the job's own alert was firing: never delivered.
    lag_notices = alerting.delivered(settings, "KafkaConsumerLagGrowing", "firing", stopped_at, group=group)
    assert [n for n in lag_notices if n["received_at"] < resolved["received_at"]] == []
    # Flink's own view agrees once it runs again, and both drain to zero.
    wait_until(lambda: lag() == 0, timeout=300, interval=5, what="the restarted job to catch up")

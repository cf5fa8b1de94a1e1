"""Alertmanager's configuration (checked and routed by amtool, Alertmanager's own tool), the test stacks'
scaled rules (checked by promtool), and the local receiver's records."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from flowlake import alerts
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import FlowlakeError
from flowlake.exporter import newest_per_name

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"


def amtool() -> str:
    path = shutil.which("amtool")
    assert path, "amtool missing (Debian package prometheus-alertmanager): run `flowlake install`"
    return path


def every_receiver() -> Settings:
    return Settings(alert_webhook_url="https://incidents.example.com/hook",
                    alert_slack_webhook_url="https://chat.example.com/hooks/abc", alert_email_to="oncall@example.com",
                    smtp_smarthost="smtp.example.com:587", smtp_username="am", smtp_password="secret")


def written(config: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def alert_names() -> set[str]:
    return {rule["alert"] for path in RULES.glob("*.yml") for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


@pytest.mark.parametrize("settings", [Settings(), every_receiver()], ids=["local only", "every receiver"])
def test_amtool_accepts_the_configuration(settings: Settings, tmp_path: Path) -> None:
    result = subprocess.run([amtool(), "check-config", str(written(alerts.alertmanager_config(settings), tmp_path))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=FlinkJobNotRunning", "severity=critical"], "page"),
    (["alertname=KafkaConsumerLagGrowing", "severity=warning"], "ticket"),
    (["alertname=Unlabelled"], "ticket"),
])
def test_critical_alerts_page_and_warnings_ticket(labels: list[str], receiver: str, tmp_path: Path) -> None:
    config = written(alerts.alertmanager_config(Settings()), tmp_path)
    result = subprocess.run([amtool(), "config", "routes", "test", f"--config.file={config}", *labels],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_every_receiver_reaches_the_local_recorder_and_the_configured_ones() -> None:
    config = alerts.alertmanager_config(every_receiver())
    page, ticket = (next(r for r in config["receivers"] if r["name"] == name) for name in ("page", "ticket"))
    for receiver in (page, ticket):
        urls = [hook["url"] for hook in receiver["webhook_configs"]]
        assert urls == ["http://127.0.0.1:9258/alerts", "https://incidents.example.com/hook"]
        assert all(hook["send_resolved"] for hook in receiver["webhook_configs"])
        assert receiver["slack_configs"][0]["api_url"] == "https://chat.example.com/hooks/abc"
    assert page["email_configs"] == [{"to": "oncall@example.com", "send_resolved": True}]
    assert "email_configs" not in ticket  # warnings are not mailed
    assert config["global"]["smtp_auth_password"] == "secret"
    local = alerts.alertmanager_config(Settings())
    assert [set(r) for r in local["receivers"]] == [{"name", "webhook_configs"}] * 2


def test_email_without_an_smtp_server_is_refused() -> None:
    with pytest.raises(FlowlakeError, match="FLOWLAKE_SMTP_SMARTHOST"):
        alerts.alertmanager_config(Settings(alert_email_to="oncall@example.com"))


def test_inhibitions_name_alerts_that_exist_and_labels_they_carry() -> None:
    known = alert_names()
    rules = {rule["alert"]: rule for path in RULES.glob("*.yml") for group in yaml.safe_load(path.read_text())["groups"]
             for rule in group["rules"] if "alert" in rule}
    for source, targets, equal in alerts.INHIBITIONS:
        assert source in known, source
        assert set(targets.split("|")) <= known, set(targets.split("|")) - known
        for label in equal:  # the source's expression keeps the label (by (...)), so the targets can match it
            assert label in rules[source]["expr"], (source, label)
    # A job that is not running holds back its consumer group's lag alert: both carry `group`.
    assert ("FlinkJobNotRunning", "KafkaConsumerLagGrowing", ("group",)) in alerts.INHIBITIONS
    assert "group" in rules["KafkaConsumerLagGrowing"]["expr"]


def test_scaled_rules_shorten_every_wait_and_still_pass_promtool(tmp_path: Path) -> None:
    text = "      for: 2m\n      expr: increase(x[10m]) > 0 and deriv(y[1m]) > 0 and z[1h] > 0\n"
    assert alerts.scale_rules(text, 0.1) == (
        "      for: 12s\n      expr: increase(x[60s]) > 0 and deriv(y[15s]) > 0 and z[360s] > 0\n")
    assert alerts.scale_rules(text, 1) == text
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `flowlake install`"
    scaled = []
    for path in RULES.glob("*.yml"):
        target = tmp_path / path.name
        target.write_text(alerts.scale_rules(path.read_text(), 0.1))
        scaled.append(str(target))
        assert "for: 10m" not in target.read_text() and "[5m]" not in target.read_text()
    result = subprocess.run([promtool, "check", "rules", *scaled], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


PAYLOAD = {"version": "4", "receiver": "page", "status": "firing", "groupLabels": {"alertname": "FlinkJobNotRunning"},
           "alerts": [{"status": "firing", "labels": {"alertname": "FlinkJobNotRunning", "severity": "critical",
                                                      "job_name": "ingest", "group": "g"},
                       "annotations": {"summary": "Flink job ingest is not running"},
                       "startsAt": "2026-12-07T06:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f1"}]}


def test_the_receiver_records_each_alert_of_a_notification(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(data_dir=tmp_path, alert_receiver_port=port)
    threading.Thread(target=alerts.serve, args=(settings,), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    assert requests.post(f"{url}/alerts", data="not json", timeout=5).status_code == 400
    resolved = json.loads(json.dumps(PAYLOAD).replace('"firing"', '"resolved"'))
    for payload in (PAYLOAD, resolved):
        assert requests.post(f"{url}/alerts", json=payload, timeout=5).status_code == 200
    found = alerts.received(settings)
    assert [(n["alertname"], n["status"], n["receiver"]) for n in found] == [
        ("FlinkJobNotRunning", "firing", "page"), ("FlinkJobNotRunning", "resolved", "page")]
    assert found[0]["labels"]["job_name"] == "ingest" and found[0]["summary"] == "Flink job ingest is not running"
    assert [n["status"] for n in alerts.latest_per_alert(found)] == ["resolved"]
    assert alerts.received(settings, since=found[1]["received_at"]) == found[1:]


def test_the_newest_job_of_each_name_is_the_one_that_counts() -> None:
    overview = [{"jid": "a", "name": "ingest", "state": "CANCELED", "start-time": 1},
                {"jid": "b", "name": "ingest", "state": "RUNNING", "start-time": 5},
                {"jid": "c", "name": "flowlake-maintain", "state": "FINISHED", "start-time": 3}]
    assert [j["jid"] for j in newest_per_name(overview)] == ["c", "b"]
    overview.append({"jid": "d", "name": "ingest", "state": "FAILED", "start-time": 9})
    assert [j["jid"] for j in newest_per_name(overview)] == ["c", "d"]

"""Where alerts go once Prometheus fires them: Alertmanager's configuration (routes by severity, grouping,
inhibition, receivers from the settings), the local receiver that records every notification
(`flowlake alerts serve`), and what `flowlake alerts` and `flowlake status` print from it.

Critical alerts page (receiver `page`), warnings open a ticket (`ticket`); both go to the local receiver
and to every receiver the settings configure. An alert explained by a bigger one is held back: a job that
is not running does not also page for its consumer group's lag or its stale commits (nor for "no job
running": the alert naming the job says more), no job at all holds back every job-level alert, and the
exporter down holds back the alerts computed from its metrics."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from flowlake.config import Settings
from flowlake.errors import FlowlakeError

log = logging.getLogger("flowlake.alerts")
# What each alert holds back (Alertmanager inhibit rules): (source, targets, labels that must be equal).
JOB_LEVEL = ("FlinkJobRestarting|FlinkCheckpointsFailing|FlinkCheckpointNearTimeout|FlinkCheckpointsSlowerThanInterval|"
             "FlinkNoCompletedCheckpoint|IcebergCommitsStale|BackpressureSustained|QuarantineRateHigh")
FROM_EXPORTER = "KafkaConsumerLagGrowing|KafkaSourceSilent|PrivacyRequestsUnreadable|DataQualityChecksUnreadable"
INHIBITIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("FlinkNoJobRunning", f"KafkaConsumerLagGrowing|{JOB_LEVEL}", ()),
    ("FlinkJobNotRunning", "FlinkNoJobRunning", ()),  # the alert that names the job is the one to read
    ("FlinkJobNotRunning", JOB_LEVEL, ("job_name",)),
    ("FlinkJobNotRunning", "KafkaConsumerLagGrowing", ("group",)),
    ("FlowlakeExporterDown", FROM_EXPORTER, ()),
)


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def alertmanager_config(settings: Settings) -> dict[str, Any]:
    """Alertmanager's configuration file (as a dict, written as YAML) for these settings."""
    webhooks: list[dict[str, Any]] = [{"url": settings.alert_receiver_url, "send_resolved": True}]
    if settings.alert_webhook_url:
        webhooks.append({"url": settings.alert_webhook_url, "send_resolved": True})
    slack = settings.alert_slack_webhook_url.get_secret_value()

    def receiver(name: str, email: bool) -> dict[str, Any]:
        found: dict[str, Any] = {"name": name, "webhook_configs": webhooks}
        if slack:
            found["slack_configs"] = [{
                "api_url": slack, "channel": settings.alert_slack_channel, "send_resolved": True,
                "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})',
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook }}\n{{ end }}"}]
        if email and settings.alert_email_to:
            found["email_configs"] = [{"to": settings.alert_email_to, "send_resolved": True}]
        return found

    config: dict[str, Any] = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "ticket",
            "group_by": ["alertname", "job_name", "group"],
            "group_wait": _duration(settings.alert_group_wait_seconds),
            "group_interval": _duration(settings.alert_group_interval_seconds),
            "repeat_interval": "4h",
            "routes": [
                {"matchers": ['severity="critical"'], "receiver": "page", "repeat_interval": "1h"},
                {"matchers": ['severity="warning"'], "receiver": "ticket"},
            ],
        },
        "inhibit_rules": [
            {"source_matchers": [f'alertname="{source}"'], "target_matchers": [f'alertname=~"{targets}"'],
             "equal": list(equal)} for source, targets, equal in INHIBITIONS],
        "receivers": [receiver("page", email=True), receiver("ticket", email=False)],
    }
    if settings.alert_email_to:
        if not settings.smtp_smarthost:
            raise FlowlakeError("alert_email_to is set but smtp_smarthost is not: set FLOWLAKE_SMTP_SMARTHOST "
                                "(host:port of the SMTP server)")
        config["global"].update(smtp_smarthost=settings.smtp_smarthost, smtp_from=settings.smtp_from,
                                smtp_require_tls=settings.smtp_require_tls)
        if settings.smtp_username:
            config["global"].update(smtp_auth_username=settings.smtp_username,
                                    smtp_auth_password=settings.smtp_password.get_secret_value())
    return config


_FOR = re.compile(r"^([ \t]*for:[ \t]*)(\d+)([smh])[ \t]*$", re.MULTILINE)
_RANGE = re.compile(r"\[(\d+)([smh])\]")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def scale_rules(text: str, factor: float, floor_seconds: int = 15) -> str:
    """The alert rules with every `for:` and range window multiplied by `factor` (test stacks: an alert's
    path proven in a minute, not ten). Range windows keep `floor_seconds` (three scrapes) at least."""
    if factor == 1:
        return text

    def scaled(amount: str, unit: str, floor: int) -> str:
        return _duration(max(floor, int(amount) * _UNIT[unit] * factor))

    text = _FOR.sub(lambda m: m.group(1) + scaled(m.group(2), m.group(3), 5), text)
    return _RANGE.sub(lambda m: f"[{scaled(m.group(1), m.group(2), floor_seconds)}]", text)


# The local receiver ---------------------------------------------------------------------------------

def notifications_file(settings: Settings) -> Path:
    return settings.data_dir / "alerts" / "notifications.jsonl"


def notifications(payload: dict[str, Any], received_at: str) -> Iterator[dict[str, Any]]:
    """One record per alert of an Alertmanager webhook message (version 4)."""
    for alert in payload.get("alerts", []):
        labels = alert.get("labels", {})
        yield {"received_at": received_at, "receiver": payload.get("receiver", ""),
               "status": alert.get("status", ""), "alertname": labels.get("alertname", ""),
               "severity": labels.get("severity", ""), "labels": labels,
               "summary": alert.get("annotations", {}).get("summary", ""),
               "starts_at": alert.get("startsAt", ""), "ends_at": alert.get("endsAt", ""),
               "fingerprint": alert.get("fingerprint", "")}


def serve(settings: Settings) -> None:
    """Record every notification Alertmanager posts to /alerts, one JSON line per alert, until stopped."""
    target = notifications_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_error(400, "not JSON")
                return
            received = datetime.now(UTC).isoformat(timespec="milliseconds")
            with lock, target.open("a") as out:
                for record in notifications(payload, received):
                    out.write(json.dumps(record, sort_keys=True) + "\n")
                    log.info("%s %s (%s)", record["alertname"], record["status"], record["receiver"],
                             extra={"alert": record["labels"], "status": record["status"]})
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/-/ready" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((settings.host, settings.alert_receiver_port), Handler)
    log.info("alert receiver on %s, recording into %s", settings.alert_receiver_url, target)
    server.serve_forever()


def received(settings: Settings, since: str = "") -> list[dict[str, Any]]:
    """The notifications the local receiver recorded (received at or after `since`, an ISO time), oldest first."""
    path = notifications_file(settings)
    if not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [n for n in found if n["received_at"] >= since]


def active(settings: Settings) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds now, with whether each is inhibited or silenced."""
    try:
        response = requests.get(f"{settings.alertmanager_url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise FlowlakeError(f"Alertmanager not reachable at {settings.alertmanager_url}: run `flowlake up` "
                            f"({exc.__class__.__name__})") from exc
    return list(response.json())


def latest_per_alert(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest notification of each alert (fingerprint), newest first: its current state as delivered."""
    newest: dict[str, dict[str, Any]] = {}
    for n in found:
        newest[n["fingerprint"] or json.dumps(n["labels"], sort_keys=True)] = n
    return sorted(newest.values(), key=lambda n: n["received_at"], reverse=True)


def age(iso: str, now: float | None = None) -> str:
    seconds = (now or time.time()) - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _k8s_matchers(matchers: list[str]) -> list[dict[str, str]]:
    found = []
    for matcher in matchers:
        name, match_type, value = re.fullmatch(r'(\w+)(=~|!~|!=|=)"(.*)"', matcher).groups()  # type: ignore[union-attr]
        found.append({"name": name, "matchType": match_type, "value": value})
    return found


def k8s_alertmanager_config(settings: Settings) -> dict[str, Any]:
    """The same routes and inhibitions as an AlertmanagerConfig for the Prometheus Operator. Both receivers post
    to the webhook whose URL is the Secret flowlake-alerting's key webhook-url (an incident tool, or Slack's
    incoming webhook through a bridge); add e-mail or Slack receivers in an overlay."""
    local = alertmanager_config(settings)
    route = local["route"]

    def camel(step: dict[str, Any]) -> dict[str, Any]:
        keys = {"receiver": "receiver", "group_by": "groupBy", "group_wait": "groupWait",
                "group_interval": "groupInterval", "repeat_interval": "repeatInterval"}
        found = {keys[k]: v for k, v in step.items() if k in keys}
        if "matchers" in step:
            found["matchers"] = _k8s_matchers(step["matchers"])
        return found

    webhook = {"urlSecret": {"name": "flowlake-alerting", "key": "webhook-url"}, "sendResolved": True}
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig",
        "metadata": {"name": "flowlake", "labels": {"app.kubernetes.io/name": "flowlake"}},
        "spec": {
            "route": {**camel(route), "routes": [camel(r) for r in route["routes"]]},
            "inhibitRules": [{"sourceMatch": _k8s_matchers(rule["source_matchers"]),
                              "targetMatch": _k8s_matchers(rule["target_matchers"]), "equal": rule["equal"]}
                             for rule in local["inhibit_rules"]],
            "receivers": [{"name": r["name"], "webhookConfigs": [webhook]} for r in local["receivers"]],
        },
    }

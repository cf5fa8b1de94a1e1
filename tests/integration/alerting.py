"""What the test stack's Alertmanager holds and what it delivered to the local receiver (`flowlake alerts serve`).
The test stack's rules wait a tenth as long as the real ones (FLOWLAKE_ALERT_TIME_SCALE), and Alertmanager
notifies at once, so a whole path takes about a minute."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowlake import alerts
from flowlake.config import Settings

from .conftest import wait_until


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def delivered(settings: Settings, alertname: str, status: str, since: str, **labels: str) -> list[dict[str, Any]]:
    """Notifications of this alert in this status with these labels, received at or after `since`."""
    return [n for n in alerts.received(settings, since) if n["alertname"] == alertname and n["status"] == status
            and all(n["labels"].get(k) == v for k, v in labels.items())]


def wait_delivered(settings: Settings, alertname: str, status: str, since: str, timeout: float,
                   **labels: str) -> dict[str, Any]:
    found = wait_until(lambda: delivered(settings, alertname, status, since, **labels), timeout=timeout,
                       interval=2, what=f"{alertname} {status} {labels} delivered to the receiver")
    return dict(found[0])


def held_back(settings: Settings, alertname: str, **labels: str) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds but does not notify: inhibited by another alert."""
    return [a for a in alerts.active(settings) if a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())
            and a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]]


def delivered_any(settings: Settings, status: str, since: str) -> list[dict[str, Any]]:
    return [n for n in alerts.received(settings, since) if n["status"] == status]

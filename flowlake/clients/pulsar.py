"""The local Pulsar broker: partitioned topics through its admin REST API, and a client."""

from __future__ import annotations

import logging

import requests

from flowlake.config import Settings
from flowlake.errors import ServiceUnavailable

NAMESPACE = "public/default"


def topic_url(name: str) -> str:
    """The full name of a persistent topic of the default namespace."""
    return name if "://" in name else f"persistent://{NAMESPACE}/{name}"


def _admin(settings: Settings, method: str, path: str, **kwargs: object) -> requests.Response:
    url = f"{settings.pulsar_admin_url}/admin/v2/persistent/{NAMESPACE}/{path}"
    try:
        return requests.request(method, url, timeout=30, **kwargs)  # type: ignore[arg-type]
    except requests.RequestException as error:
        raise ServiceUnavailable(f"Pulsar not reachable at {settings.pulsar_admin_url} ({error}): "
                                 "run `flowlake up --with pulsar`") from error


def require_pulsar(settings: Settings) -> None:
    try:
        requests.get(f"{settings.pulsar_admin_url}/admin/v2/clusters", timeout=5).raise_for_status()
    except requests.RequestException as error:
        raise ServiceUnavailable(f"Pulsar not reachable at {settings.pulsar_service_url} ({error}): "
                                 "run `flowlake up --with pulsar`") from error


def ensure_topic(settings: Settings, name: str, partitions: int) -> None:
    """A partitioned topic with `partitions` partitions; an existing one with another count is an error."""
    have = _admin(settings, "GET", f"{name}/partitions")
    if have.ok and have.json().get("partitions", 0) > 0:
        if have.json()["partitions"] != partitions:
            raise ServiceUnavailable(f"Pulsar topic {name} has {have.json()['partitions']} partitions, flowlake "
                                     f"expects {partitions}: delete it or set FLOWLAKE_EVENTS_PARTITIONS")
        return
    created = _admin(settings, "PUT", f"{name}/partitions", json=partitions)
    if not created.ok and created.status_code != 409:  # 409: created meanwhile
        raise ServiceUnavailable(f"creating Pulsar topic {name} failed: {created.status_code} {created.text[:300]}")


def ensure_subscription(settings: Settings, topic: str, subscription: str) -> None:
    """A durable subscription on every partition of the topic, starting at the earliest message; an
    existing one keeps its position. The Flink connector creates a missing subscription itself by
    subscribing and seeking each partition, and a schema lookup in flight on the same connection
    then failed the job once at its first start."""
    earliest = {"ledgerId": -1, "entryId": -1, "partitionIndex": -1}
    created = _admin(settings, "PUT", f"{topic}/subscription/{subscription}", json=earliest)
    if not created.ok and created.status_code != 409:  # 409: it exists
        raise ServiceUnavailable(f"creating subscription {subscription} on Pulsar topic {topic} failed: "
                                 f"{created.status_code} {created.text[:300]}")


def delete_topic(settings: Settings, name: str) -> None:
    response = _admin(settings, "DELETE", f"{name}/partitions", params={"force": "true"})
    if not response.ok and response.status_code != 404:
        raise ServiceUnavailable(f"deleting Pulsar topic {name} failed: {response.status_code} {response.text[:300]}")


def client(settings: Settings):  # type: ignore[no-untyped-def]
    """A Pulsar client that logs warnings and errors only (its default logs every connection)."""
    import pulsar

    return pulsar.Client(settings.pulsar_service_url, logger=logging.getLogger("pulsar"))

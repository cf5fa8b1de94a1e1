"""Kafka helpers of the control environment (confluent-kafka)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from flowlake.config import Settings
from flowlake.errors import ServiceUnavailable
from flowlake.kafka_security import CLIENT_LOG, client_config, enabled


def admin_client(settings: Settings) -> AdminClient:
    """As Kafka's `admin` principal (topics, groups, every ACL): the CLI's and the stack manager's."""
    return AdminClient({**client_config(settings, "admin"), "logger": CLIENT_LOG})  # type: ignore[dict-item]


def require_kafka(settings: Settings) -> AdminClient:
    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.name() == "_AUTHENTICATION":
            refused.append(error.str())

    probe = AdminClient({**client_config(settings, "admin"), "logger": CLIENT_LOG,  # type: ignore[dict-item]
                         "error_cb": on_error})  # type: ignore[dict-item]
    try:
        probe.list_topics(timeout=5)
    except KafkaException as exc:
        probe.poll(0.5)  # serves the error callbacks
        if refused:
            raise ServiceUnavailable(
                f"Kafka at {settings.kafka_bootstrap} refused the admin principal's password: set it in "
                "FLOWLAKE_KAFKA_PASSWORDS or <data dir>/secrets/kafka-passwords.json, then `flowlake up`") from exc
        tls = " over TLS (FLOWLAKE_KAFKA_SECURITY=none for a PLAINTEXT broker)" if enabled(settings) else ""
        raise ServiceUnavailable(
            f"Kafka not reachable at {settings.kafka_bootstrap}{tls}: run `flowlake up` ({exc})") from exc
    return probe


def ensure_stack_topics(settings: Settings) -> list[str]:
    """The topics the jobs read and write, each with the events topic's partition count; the consent topic
    compacted (its consumers want the latest state of each key, which compaction keeps for ever)."""
    for topic in (settings.events_topic, settings.silver_events_topic, settings.alerts_topic):
        ensure_topic(settings, topic, settings.events_partitions)
    ensure_topic(settings, settings.consent_topic, settings.events_partitions, {"cleanup.policy": "compact"})
    return [settings.events_topic, settings.silver_events_topic, settings.alerts_topic, settings.consent_topic]


def ensure_topic(settings: Settings, topic: str, partitions: int, config: dict[str, str] | None = None) -> None:
    admin = require_kafka(settings)
    existing = admin.list_topics(timeout=5).topics
    if topic in existing:
        have = len(existing[topic].partitions)
        if have != partitions:
            raise ServiceUnavailable(f"topic {topic} has {have} partitions, flowlake expects {partitions}: "
                                     f"delete it or set FLOWLAKE_EVENTS_PARTITIONS={have}")
        return
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                            config=config or {})])
    for future in futures.values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise


def delete_topic(settings: Settings, topic: str) -> None:
    admin = require_kafka(settings)
    for future in admin.delete_topics([topic]).values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" not in str(exc):
                raise

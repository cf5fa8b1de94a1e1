from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer

from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.kafka_security import client_config

pytestmark = pytest.mark.integration


def test_produce_and_consume_through_the_broker(local_stack: Settings) -> None:
    topic = f"it-kafka-{uuid.uuid4().hex[:8]}"
    ensure_topic(local_stack, topic, 3)
    try:
        producer = Producer({**client_config(local_stack, "admin"), "enable.idempotence": True})
        sent = {f"key-{i}": f"value-{i}" for i in range(100)}
        for key, value in sent.items():
            producer.produce(topic, key=key, value=value)
        assert producer.flush(30) == 0

        consumer = Consumer({**client_config(local_stack, "admin"), "group.id": f"g-{topic}",
                             "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        consumer.subscribe([topic])
        received: dict[str, str] = {}
        partitions = set()
        for _ in range(60):
            for msg in consumer.consume(num_messages=100, timeout=1):
                assert msg.error() is None
                received[msg.key().decode()] = msg.value().decode()
                partitions.add(msg.partition())
            if len(received) == len(sent):
                break
        consumer.close()
        assert received == sent
        assert partitions == {0, 1, 2}
    finally:
        delete_topic(local_stack, topic)


def test_transactional_producer_is_accepted(local_stack: Settings) -> None:
    """Exactly-once sinks need the broker's transaction coordinator on a single node."""
    topic = f"it-txn-{uuid.uuid4().hex[:8]}"
    ensure_topic(local_stack, topic, 1)
    try:
        producer = Producer({**client_config(local_stack, "admin"), "transactional.id": f"t-{topic}",
                             "transaction.timeout.ms": 3_600_000})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce(topic, value=b"committed")
        producer.commit_transaction(30)
        producer.begin_transaction()
        producer.produce(topic, value=b"aborted")
        # Delivered (its partition in the transaction) before the abort: librdkafka's abort can race the
        # partition's registration and fail with INVALID_TXN_STATE (confluentinc/librdkafka#4849).
        assert producer.flush(30) == 0
        producer.abort_transaction(30)

        consumer = Consumer({**client_config(local_stack, "admin"), "group.id": f"g-{topic}",
                             "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        consumer.subscribe([topic])
        values = []
        for _ in range(15):
            values += [m.value() for m in consumer.consume(num_messages=10, timeout=1) if m.error() is None]
            if values:
                break
        consumer.close()
        assert values == [b"committed"]
    finally:
        delete_topic(local_stack, topic)


def test_the_retention_of_a_topic_is_read_from_the_broker_and_too_long_is_warned_about(local_stack: Settings) -> None:
    from confluent_kafka.admin import NewTopic

    from flowlake.clients.kafka import admin_client
    from flowlake.health import retention_warning, topic_retention_ms

    kept, forever = f"it-ret-{uuid.uuid4().hex[:8]}", f"it-ret-{uuid.uuid4().hex[:8]}"
    admin = admin_client(local_stack)
    futures = admin.create_topics([NewTopic(kept, 1, 1), NewTopic(forever, 1, 1, config={"retention.ms": "-1"})])
    for future in futures.values():
        future.result(timeout=30)
    try:
        assert topic_retention_ms(local_stack, kept) == 168 * 3_600_000  # the broker's default (7 days)
        assert retention_warning(kept, topic_retention_ms(local_stack, kept), 30) is None
        assert topic_retention_ms(local_stack, forever) == -1
        assert "for ever" in (retention_warning(forever, topic_retention_ms(local_stack, forever), 30) or "")
        assert topic_retention_ms(local_stack, f"it-none-{uuid.uuid4().hex[:8]}") is None
    finally:
        for topic in (kept, forever):
            delete_topic(local_stack, topic)

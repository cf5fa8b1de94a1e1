"""The local Pulsar standalone broker, for real: `up` creates the partitioned events topic, and keyed
messages go through it once each, with distinct message ids."""

from __future__ import annotations

import uuid

import pytest
import requests

from flowlake.clients.pulsar import client, delete_topic, ensure_topic, topic_url
from flowlake.config import Settings

pytestmark = pytest.mark.integration


def test_up_created_the_partitioned_events_topic(local_stack: Settings) -> None:
    url = f"{local_stack.pulsar_admin_url}/admin/v2/persistent/public/default/{local_stack.events_topic}/partitions"
    assert requests.get(url, timeout=10).json()["partitions"] == local_stack.events_partitions


def test_keyed_messages_arrive_once_each_across_partitions(local_stack: Settings) -> None:
    topic = f"it-pulsar-{uuid.uuid4().hex[:8]}"
    ensure_topic(local_stack, topic, 3)
    ensure_topic(local_stack, topic, 3)  # idempotent
    pulsar_client = client(local_stack)
    try:
        import pulsar

        consumer = pulsar_client.subscribe(topic_url(topic), "it", initial_position=pulsar.InitialPosition.Earliest)
        producer = pulsar_client.create_producer(topic_url(topic))
        sent = {f"key-{i % 7}:{i}" for i in range(200)}
        for value in sent:
            producer.send(value.encode(), partition_key=value.split(":")[0])
        received, ids, partitions = set(), set(), set()
        for _ in range(len(sent)):
            message = consumer.receive(timeout_millis=10_000)
            assert message.partition_key() == message.data().decode().split(":")[0]
            received.add(message.data().decode())
            ids.add(str(message.message_id()))
            partitions.add(message.topic_name())
            consumer.acknowledge(message)
        assert received == sent and len(ids) == len(sent)
        assert len(partitions) > 1  # seven keys spread over the partitions
    finally:
        pulsar_client.close()
        delete_topic(local_stack, topic)


def test_generate_to_pulsar_delivers_every_record_once(local_stack: Settings) -> None:
    from flowlake.generate import Mix, generate

    topic = f"it-pulsar-gen-{uuid.uuid4().hex[:8]}"
    ensure_topic(local_stack, topic, local_stack.events_partitions)
    kept: list[tuple[str, bytes, str]] = []
    delivered = generate(local_stack, 2_000, None, None, topic=topic, seed=5, mix=Mix(bad=0.05, duplicates=0.02),
                         keep=kept, broker="pulsar")
    assert delivered.total() == 2_000 and delivered["duplicate"] > 0
    pulsar_client = client(local_stack)
    try:
        import pulsar

        consumer = pulsar_client.subscribe(topic_url(topic), "it", initial_position=pulsar.InitialPosition.Earliest)
        received = []
        while len(received) < 2_000:
            message = consumer.receive(timeout_millis=10_000)
            received.append((message.partition_key(), message.data()))
            consumer.acknowledge(message)
        with pytest.raises(pulsar.Timeout):
            consumer.receive(timeout_millis=2_000)  # nothing more
        assert sorted(received) == sorted((key, payload) for key, payload, _ in kept)
    finally:
        pulsar_client.close()
        delete_topic(local_stack, topic)

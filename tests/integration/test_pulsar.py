"""The local Pulsar standalone broker, for real: `up` creates the partitioned events topic, and keyed
messages go through it once each, with distinct message ids."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

from flowlake.config import Settings
from flowlake.pulsar import client, delete_topic, ensure_topic, topic_url

from .conftest import wait_until

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


def test_flink_reads_a_pulsar_topic_into_iceberg(local_stack: Settings, tmp_path: Path) -> None:
    """The Flink Pulsar connector (streaming, checkpointed positions) on the session cluster: every
    message once, with its key, topic partition, message id and publish time, committed to an
    Iceberg table read back through Trino."""
    from flowlake.flink import FlinkRest, submit
    from flowlake.generate import generate
    from flowlake.trino_client import query
    from iceberg.catalog import load_catalog

    suffix = uuid.uuid4().hex[:8]
    topic, namespace = f"it-pulsar-flink-{suffix}", f"it_{suffix}"
    ensure_topic(local_stack, topic, local_stack.events_partitions)
    kept: list[tuple[str, bytes, str]] = []
    generate(local_stack, 500, None, None, topic=topic, seed=9, keep=kept, broker="pulsar")
    catalog = load_catalog(local_stack)
    catalog.create_namespace(namespace)
    script = tmp_path / "pulsar.sql"
    script.write_text(f"""
CREATE TEMPORARY TABLE pulsar_events (
  event_key BYTES,
  payload BYTES,
  topic STRING METADATA FROM 'topic' VIRTUAL,
  message_id BYTES METADATA FROM 'message_id' VIRTUAL,
  publish_time TIMESTAMP_LTZ(3) METADATA FROM 'publish_time' VIRTUAL
) WITH (
  'connector' = 'pulsar',
  'service-url' = '{local_stack.pulsar_service_url}',
  'topics' = '{topic_url(topic)}',
  'source.subscription-name' = 'flowlake-it',
  'source.start.message-id' = 'earliest',
  'key.format' = 'raw',
  'key.fields' = 'event_key',
  'format' = 'raw'
);
CREATE TABLE {namespace}.events (event_key BYTES, payload BYTES, topic STRING, message_id BYTES,
  publish_time TIMESTAMP_LTZ(6));
INSERT INTO {namespace}.events
SELECT event_key, payload, topic, message_id, CAST(publish_time AS TIMESTAMP_LTZ(6)) FROM pulsar_events;
""")
    rest = FlinkRest(local_stack)
    job_id = submit(local_stack, "sql",
                    ["--script", str(script), "--mode", "streaming", "--job-name", f"pulsar-{suffix}"])
    try:
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)

        def count() -> int:
            return int(query(local_stack, f"SELECT count(*) FROM lakehouse.{namespace}.events")[1][0][0])

        wait_until(lambda: count() >= 500, timeout=180, interval=3, what="500 rows committed")
        time.sleep(2 * local_stack.checkpoint_interval_seconds)  # later commits would show a duplicate
        rows = query(local_stack, "SELECT count(*), count(DISTINCT message_id), count(DISTINCT topic), "
                                  f"min(publish_time) IS NOT NULL FROM lakehouse.{namespace}.events")[1]
        assert rows == [[500, 500, local_stack.events_partitions, True]]
        read = query(local_stack, f"SELECT from_utf8(event_key), payload FROM lakehouse.{namespace}.events")[1]
        assert sorted((key, bytes(payload)) for key, payload in read) == sorted((k, p) for k, p, _ in kept)
    finally:
        rest.cancel(job_id)
        catalog.purge_table(f"{namespace}.events")
        catalog.drop_namespace(namespace)
        delete_topic(local_stack, topic)

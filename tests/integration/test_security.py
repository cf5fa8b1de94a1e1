"""The doors that are locked, tried from outside on the session's stack: the catalog's PostgreSQL refuses
every client without the catalog user's password, keeps that user to its own database, and lets the superuser
in by its socket only; the monitoring services listen on this machine alone; Kafka takes TLS and a principal
only, and each principal does its own job and nothing else; Flink's REST endpoint answers flowlake's client
certificate only."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from flowlake import flink_security, stack
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.config import Settings
from flowlake.kafka_security import client_config, grant, producer_grants
from flowlake.keys import password_for, self_signed_certificate
from flowlake.stack.services import PG_SUPERUSER

from .conftest import IngestJob

pytestmark = pytest.mark.integration


def connect(settings: Settings, user: str, database: str, password: str | None):  # type: ignore[no-untyped-def]
    return psycopg2.connect(host=settings.host, port=settings.postgres_port, dbname=database, user=user,
                            password=password, connect_timeout=5)


def refusal(settings: Settings, user: str, database: str, password: str | None) -> str:
    with pytest.raises(psycopg2.OperationalError) as refused:
        connect(settings, user, database, password).close()
    return str(refused.value)


def test_the_catalog_user_gets_in_with_its_password_to_its_database_only(local_stack: Settings) -> None:
    s = local_stack
    password = s.catalog_secret()
    with connect(s, s.catalog_user, s.catalog_database, password) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)
        cur.execute("SELECT count(*) FROM iceberg_tables")  # the catalog it serves
        assert cur.fetchone()[0] > 0
    assert "password" in refusal(s, s.catalog_user, s.catalog_database, password + "x")
    assert "password" in refusal(s, s.catalog_user, s.catalog_database, None)
    for other in ("postgres", "template1"):
        assert "no pg_hba.conf entry" in refusal(s, s.catalog_user, other, password)


def test_the_superuser_is_refused_over_the_network(local_stack: Settings) -> None:
    s = local_stack
    for database in ("postgres", s.catalog_database):
        assert "no pg_hba.conf entry" in refusal(s, PG_SUPERUSER, database, None)
        assert "no pg_hba.conf entry" in refusal(s, PG_SUPERUSER, database, s.catalog_secret())
    socket_dir = s.data_dir / "postgres" / "sock"
    assert socket_dir.stat().st_mode & 0o777 == 0o700


def listening(port: int) -> set[str]:
    """The local addresses a TCP socket listens on for `port` (from /proc: what `ss -ltn` shows)."""
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address if len(address) == width else "?")
    return found


def test_monitoring_listens_on_this_machine_only(local_stack: Settings) -> None:
    s = local_stack
    loopback = {"0100007F"}  # 127.0.0.1 in /proc's byte order
    running = {st.name for st in stack.status(s) if st.healthy}
    ports = {"prometheus": s.prometheus_port, "alertmanager": s.alertmanager_port, "exporter": s.exporter_port,
             "alert-receiver": s.alert_receiver_port, "postgres": s.postgres_port}
    assert set(ports) <= running
    for name, port in ports.items():
        assert listening(port) == loopback, f"{name} listens on {listening(port)} (port {port})"
    statuses = {st.name: st.auth for st in stack.status(s)}
    assert statuses["postgres"].startswith("SCRAM")
    assert statuses["prometheus"] == "none, on this machine only"


# Kafka: TLS and SCRAM on the client listener, a principal per role, ACLs that deny by default.

def kafka_error(config: dict[str, object], timeout: float = 15) -> str:
    """The error a client with `config` gets asking for the cluster's metadata ('' if it gets an answer)."""
    seen: list[str] = []  # librdkafka reports a refused login here; the request itself then just fails
    admin = AdminClient({**config, "log_level": 0, "error_cb": lambda error: seen.append(error.name())})
    deadline = time.monotonic() + timeout
    while True:  # short requests: a refused login is reported at once, the request would wait out its timeout
        try:
            admin.list_topics(timeout=1)
            return ""
        except KafkaException as exc:
            admin.poll(0.2)  # serves the error callbacks
            if "_AUTHENTICATION" in seen:
                return "_AUTHENTICATION"
            if time.monotonic() > deadline:
                return exc.args[0].name() if exc.args and isinstance(exc.args[0], KafkaError) else str(exc)


def read_error(settings: Settings, role: str, topic: str) -> str:
    """What a consumer acting as `role` gets fetching `topic` from the start (no group: no group ACL involved)."""
    consumer = Consumer({**client_config(settings, role), "group.id": f"probe-{role}", "log_level": 0,
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        others: list[str] = []  # a group-level refusal may come first: wait for the topic's answer
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is None:
                continue
            if not message.error():
                return "read a record"
            if message.error().name() == "TOPIC_AUTHORIZATION_FAILED":
                return "TOPIC_AUTHORIZATION_FAILED"
            others.append(message.error().name())
        return f"nothing within 30 s ({', '.join(others)})"
    finally:
        consumer.close()


def write_error(settings: Settings, role: str, topic: str) -> str:
    producer = Producer({**client_config(settings, role), "log_level": 0, "message.timeout.ms": 20000})
    errors: list[str] = []
    producer.produce(topic, b"probe", on_delivery=lambda err, _msg: errors.append(err.name() if err else ""))
    producer.flush(30)
    return errors[0] if errors else "no delivery report"


def test_kafka_refuses_clients_without_tls_and_a_principal(local_stack: Settings) -> None:
    s = local_stack
    assert kafka_error(client_config(s, "admin")) == ""  # the door opens with the right key
    assert kafka_error({"bootstrap.servers": s.kafka_bootstrap}, timeout=8) in ("_TRANSPORT", "_TIMED_OUT")
    wrong = {**client_config(s, "producer"), "sasl.password": "not-the-password"}
    assert kafka_error(wrong) == "_AUTHENTICATION"
    # An analyst is a Trino user, not a Kafka principal: their Trino password opens nothing here.
    analyst = {**client_config(s, "producer"), "sasl.username": "analyst", "sasl.password": password_for(s, "analyst")}
    assert kafka_error(analyst) == "_AUTHENTICATION"


def test_each_kafka_role_does_only_its_own_job(local_stack: Settings, ingest_job: IngestJob) -> None:
    s = local_stack
    topic = f"it-acl-{uuid.uuid4().hex[:8]}"
    ensure_topic(s, topic, 1)
    try:
        grant(s, "producer", producer_grants([topic]))
        assert write_error(s, "producer", topic) == ""  # the producer writes its topic ...
        assert read_error(s, "producer", topic) == "TOPIC_AUTHORIZATION_FAILED"  # ... and reads nothing of it
        assert read_error(s, "producer", ingest_job.topic) == "TOPIC_AUTHORIZATION_FAILED"
        assert write_error(s, "producer", f"{ingest_job.topic}.silver") == "TOPIC_AUTHORIZATION_FAILED"
        assert read_error(s, "admin", topic) == "read a record"
        # The exporter sees offsets (lag) and never a record's value.
        assert read_error(s, "exporter", topic) == "TOPIC_AUTHORIZATION_FAILED"
        assert read_error(s, "exporter", ingest_job.topic) == "TOPIC_AUTHORIZATION_FAILED"
        group = f"g-{topic}"
        committer = Consumer({**client_config(s, "admin"), "group.id": group, "log_level": 0})
        committer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        committer.close()
        exporter = AdminClient({**client_config(s, "exporter"), "log_level": 0})
        assert group in {g.group_id for g in exporter.list_consumer_groups(request_timeout=15).result().valid}
        committed = exporter.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
        assert [(p.topic, p.offset) for p in committed.topic_partitions] == [(topic, 1)]
        # The ingest job's principal may not write the topic it reads (no fake orders into gold through it).
        assert write_error(s, "ingest", ingest_job.topic) == "TOPIC_AUTHORIZATION_FAILED"
    finally:
        delete_topic(s, topic)
    statuses = {st.name: st.auth for st in stack.status(s)}
    assert statuses["kafka"] == "SCRAM over TLS, ACLs"


def test_the_printed_client_settings_connect(local_stack: Settings) -> None:
    """`flowlake kafka-users --as producer --show-passwords` (the README's way for a client of your own): its
    settings, turned into librdkafka's, open the door."""
    flowlake = str(Path(sys.executable).parent / "flowlake")
    printed = subprocess.run([flowlake, "kafka-users", "--as", "producer", "--show-passwords"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
    props = dict(line.split("=", 1) for line in printed.splitlines())
    jaas = dict(re.findall(r'(\w+)="([^"]*)"', props["sasl.jaas.config"]))
    config = {"bootstrap.servers": props["bootstrap.servers"], "security.protocol": props["security.protocol"],
              "sasl.mechanisms": props["sasl.mechanism"], "sasl.username": jaas["username"],
              "sasl.password": jaas["password"], "ssl.ca.location": props["ssl.truststore.location"]}
    assert config["sasl.username"] == "producer"
    assert kafka_error(config) == ""


def test_flink_rest_takes_flowlakes_client_certificate_only(local_stack: Settings, tmp_path: Path) -> None:
    """Mutual TLS on the REST endpoint (the web UI, the REST API, `flink run`): no certificate, a certificate Flink
    does not trust, or plain HTTP, and nothing is answered, a job submission least of all."""
    s = local_stack
    tls = flink_security.requests_options(s)
    assert s.flink_rest_url.startswith("https://")
    overview = requests.get(f"{s.flink_rest_url}/overview", timeout=10, **tls)
    assert overview.status_code == 200 and overview.json()["taskmanagers"] >= 1  # they joined over internal TLS
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: what matters is whether the upload gets in
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError is one: the handshake fails
        requests.post(f"{s.flink_rest_url}/jars/upload", files={"jarfile": jar.open("rb")}, timeout=10,
                      verify=tls["verify"])
    stranger_cert, stranger_key = tmp_path / "stranger.pem", tmp_path / "stranger-key.pem"
    self_signed_certificate(stranger_cert, stranger_key, "stranger", ["127.0.0.1"])
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{s.flink_rest_url}/overview", timeout=10, verify=tls["verify"],
                     cert=(str(stranger_cert), str(stranger_key)))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{s.flink_rest_url.replace('https://', 'http://')}/overview", timeout=10)
    config = {entry["key"]: entry["value"] for entry in
              requests.get(f"{s.flink_rest_url}/jobmanager/config", timeout=10, **tls).json()}
    assert config["security.ssl.internal.enabled"] == "true"
    assert config["security.ssl.rest.authentication-enabled"] == "true"
    # The web UI's way in: the browser's PKCS#12 holds flowlake's client certificate, opened with its password.
    p12, password_file = flink_security.browser_certificate(s)
    opened = subprocess.run(["openssl", "pkcs12", "-in", str(p12), "-nokeys", "-passin", f"file:{password_file}"],
                            capture_output=True, text=True, check=True).stdout
    client_pem = flink_security.client_certificate(s)[0].read_text()
    assert client_pem.split("-----BEGIN CERTIFICATE-----")[1] in opened

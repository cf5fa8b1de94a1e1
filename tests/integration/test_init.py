"""`flowlake init` prepares services flowlake did not start (docker-compose's flowlake-init runs it):
run here against the test stack's own services under other settings, as a container would be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from flowlake.catalog import load_catalog
from flowlake.config import Settings
from flowlake.kafka_security import ca_file, client_config, password
from iceberg.registry import NAMESPACES
from iceberg.tables import ALL_TABLES

pytestmark = [pytest.mark.integration]
FLOWLAKE = str(Path(sys.executable).parent / "flowlake")


def test_init_makes_catalog_tables_topics_and_a_trino_etc(local_stack: Settings, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    env = {**os.environ, "FLOWLAKE_CATALOG_NAME": f"init_{suffix}", "FLOWLAKE_EVENTS_TOPIC": f"init-{suffix}",
           "FLOWLAKE_SILVER_EVENTS_TOPIC": f"init-{suffix}.silver", "FLOWLAKE_ALERTS_TOPIC": f"init-{suffix}.alerts",
           "FLOWLAKE_CONSENT_TOPIC": f"init-{suffix}.consent", "FLOWLAKE_TRINO_HOST": "trino.example",
           "FLOWLAKE_DATA_DIR": str(tmp_path / "state"),
           # A Kafka flowlake did not start: its admin's password and the CA that signed it, from the environment.
           "FLOWLAKE_KAFKA_PASSWORDS": json.dumps({"admin": password(local_stack, "admin")}),
           "FLOWLAKE_KAFKA_CA_FILE": str(ca_file(local_stack)),
           # and the catalog's password (compose requires it in .env).
           "FLOWLAKE_CATALOG_PASSWORD": local_stack.catalog_secret()}
    etc = tmp_path / "etc"
    for _ in range(2):  # idempotent
        result = subprocess.run([FLOWLAKE, "init", "--trino-etc", str(etc)], env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr

    settings = local_stack.model_copy(update={"catalog_name": f"init_{suffix}"})
    catalog = load_catalog(settings)
    tables = {".".join(t) for ns in NAMESPACES for t in catalog.list_tables(ns)}
    assert tables >= {spec.identifier for spec in ALL_TABLES}
    admin = AdminClient(client_config(local_stack, "admin"))
    topics = admin.list_topics(timeout=10).topics
    names = [f"init-{suffix}{end}" for end in ("", ".silver", ".alerts", ".consent")]
    for name in names:
        assert len(topics[name].partitions) == local_stack.events_partitions
    consent = ConfigResource(ConfigResource.Type.TOPIC, f"init-{suffix}.consent")
    described = admin.describe_configs([consent])[consent].result(timeout=10)
    assert described["cleanup.policy"].value == "compact"  # its consumers read the latest state per key

    config = dict(line.split("=", 1) for line in (etc / "config.properties").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    assert config["discovery.uri"] == f"http://trino.example:{local_stack.trino_port}"
    assert config["http-server.https.keystore.path"] == str(etc / "tls" / "server.pem")
    assert "BEGIN PRIVATE KEY" in (etc / "tls" / "server.pem").read_text()
    certificate = tmp_path / "state" / "secrets" / "trino-tls" / "cert.pem"
    cert = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(certificate)],
                          capture_output=True, text=True)
    assert "DNS:trino.example" in cert.stdout
    users = {line.split(":")[0] for line in (etc / "password.db").read_text().splitlines()}
    assert users == set(local_stack.trino_users)
    catalog_file = (etc / "catalog" / f"init_{suffix}.properties").read_text()
    assert f"iceberg.jdbc-catalog.catalog-name=init_{suffix}" in catalog_file
    assert f"iceberg.jdbc-catalog.connection-url={local_stack.catalog_jdbc_url}" in catalog_file
    for spec in ALL_TABLES:
        catalog.drop_table(spec.identifier)
    admin.delete_topics(names)

"""Kafka's roles and ACLs as data, the broker's security lines and the clients' settings (the doors themselves are
tried on the real broker: tests/integration/test_security.py)."""

import argparse
import json

import pytest

from flink_jobs.common import kafka_properties, kafka_sql_options, load_sql
from flink_jobs.registry import JOBS, KAFKA_PASSWORD_ENV
from flowlake import kafka_security
from flowlake.config import Settings
from flowlake.kafka_security import Grant


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


def test_each_role_gets_only_its_own_topics(settings: Settings):
    grants = kafka_security.role_grants(settings)
    assert set(grants) | set(kafka_security.SUPER_USERS) == set(kafka_security.ROLES) | {kafka_security.BROKER}
    assert {(g.resource, g.name, g.operation) for g in grants["producer"]} == {
        ("topic", "events", "WRITE"), ("topic", "events", "DESCRIBE")}
    ingest = {(g.resource, g.name, g.operation, g.pattern) for g in grants["ingest"]}
    assert ("topic", "events", "READ", "literal") in ingest
    assert ("topic", "events.silver", "WRITE", "literal") in ingest
    assert ("topic", "events.silver", "READ", "literal") not in ingest
    assert ("transactional_id", "flowlake-ingest", "WRITE", "prefixed") in ingest
    assert ("group", "flowlake-ingest", "READ", "literal") in ingest
    # The exporter describes (offsets) and reads nothing: no READ anywhere.
    assert {g.operation for g in grants["exporter"]} == {"DESCRIBE"}
    assert all(g.operation != "READ" for g in grants["producer"])


def test_every_kafka_job_has_a_role_with_a_password(settings: Settings):
    principals = {job.kafka_principal for job in JOBS.values() if job.kafka_principal}
    assert principals == {"ingest", "sessions"}
    passwords = kafka_security.ensure_passwords(settings)
    assert set(passwords) == set(kafka_security.ROLES) and len(set(passwords.values())) == len(passwords)
    assert kafka_security.ensure_passwords(settings) == passwords  # generated once
    assert kafka_security.passwords_file(settings).stat().st_mode & 0o777 == 0o600
    configured = Settings(data_dir=settings.data_dir, kafka_passwords={"producer": "from-the-vault"})
    assert kafka_security.password(configured, "producer") == "from-the-vault"


def test_client_settings_follow_the_security_setting(settings: Settings):
    kafka_security.ensure_passwords(settings)
    secured = kafka_security.client_config(settings, "producer")
    assert secured["security.protocol"] == "SASL_SSL" and secured["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert secured["sasl.username"] == "producer" and secured["ssl.ca.location"].endswith("kafka-tls/cert.pem")
    assert kafka_security.client_config(settings, "broker")["sasl.mechanisms"] == "PLAIN"
    plain = Settings(data_dir=settings.data_dir, kafka_security="none")
    assert kafka_security.client_config(plain, "producer") == {"bootstrap.servers": plain.kafka_bootstrap}
    assert kafka_security.job_arguments(plain, "ingest") == ["--kafka-security", "none"]


def test_the_broker_denies_by_default_and_speaks_tls_only(settings: Settings):
    lines = kafka_security.server_properties(settings).splitlines()
    assert "allow.everyone.if.no.acl.found=false" in lines
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in lines
    assert "super.users=User:broker;User:admin" in lines
    listeners = next(line for line in lines if line.startswith("listeners="))
    assert "PLAINTEXT://" not in listeners and "SASL_SSL://" in listeners
    assert "listener.security.protocol.map=CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL" in lines


def test_a_jobs_kafka_tables_carry_its_principal(monkeypatch: pytest.MonkeyPatch):
    args = argparse.Namespace(kafka_security="sasl_ssl", kafka_user="ingest", kafka_ca_file="/s/cert.pem")
    monkeypatch.setenv(KAFKA_PASSWORD_ENV, "pw-1")
    props = kafka_properties(args)
    assert props["sasl.jaas.config"].endswith('username="ingest" password="pw-1";')
    sql = load_sql("sink_kafka_silver_events", silver_topic="s", bootstrap="b:1", transactional_id_prefix="g",
                   kafka_options=kafka_sql_options(args))
    assert "'properties.security.protocol' = 'SASL_SSL'," in sql
    assert "'properties.ssl.truststore.location' = '/s/cert.pem'," in sql
    monkeypatch.delenv(KAFKA_PASSWORD_ENV)
    with pytest.raises(SystemExit, match=KAFKA_PASSWORD_ENV):
        kafka_properties(args)
    assert kafka_sql_options(argparse.Namespace(kafka_security="none")) == ""


def test_a_job_on_other_topics_is_granted_exactly_those():
    grants = kafka_security.job_grants(["t-in"], ["t-out"], "g-1")
    assert Grant("topic", "t-in", "READ") in grants and Grant("topic", "t-out", "WRITE") in grants
    assert Grant("topic", "t-in", "WRITE") not in grants
    assert json.dumps(sorted(g.resource for g in grants)).count("transactional_id") == 2

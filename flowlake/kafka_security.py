"""Kafka's doors: TLS on the client listener, SASL/SCRAM-SHA-512 with a principal per role, ACLs that deny by
default. What each role may do is here, as data (`role_grants`, `job_grants`); the broker's configuration is
deploy/local/kafka/server.properties. The broker itself (and flowlake's stack manager, to set the roles'
credentials and ACLs) authenticates as `broker` with SASL/PLAIN, a password only the broker's configuration and
the data dir's secrets hold; `broker` and `admin` are Kafka's super users.

Passwords: FLOWLAKE_KAFKA_PASSWORDS ('{"producer": "..."}'), else generated once into
<data dir>/secrets/kafka-passwords.json (as Trino's are). With FLOWLAKE_KAFKA_SECURITY=none every client
speaks PLAINTEXT (a broker flowlake does not run without security, and the benchmark's comparison)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.keys import (
    generated_passwords,
    generated_secret,
    openssl,
    secrets_dir,
    self_signed_certificate,
    stored_password,
)

ROLES = ("producer", "ingest", "sessions", "exporter", "admin")
BROKER = "broker"
SUPER_USERS = (BROKER, "admin")
MECHANISM = "SCRAM-SHA-512"
# librdkafka's own log lines (`%4|...|GETPID|... Coordinator load in progress`) through Python's logging: into
# the log file, not onto the terminal (flowlake/logs.py).
CLIENT_LOG = logging.getLogger("librdkafka")
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class Grant:
    """One ACL: `operation` on the resource (`topic`, `group`, `transactional_id`), its name taken literally
    or as a prefix."""
    resource: str
    name: str
    operation: str
    pattern: str = "literal"


def job_grants(reads: list[str], writes: list[str], group: str) -> list[Grant]:
    """What a streaming job needs: read its input topics, write its output topics, its consumer group, and its
    transactional ids (exactly-once sinks), which start with the group id."""
    grants = [Grant("topic", topic, "READ") for topic in reads]
    grants += [Grant("topic", topic, op) for topic in writes for op in ("WRITE", "DESCRIBE")]
    if group:
        grants += [Grant("group", group, "READ"),
                   *(Grant("transactional_id", group, op, "prefixed") for op in ("WRITE", "DESCRIBE"))]
    return grants


def producer_grants(topics: list[str]) -> list[Grant]:
    return [Grant("topic", topic, op) for topic in topics for op in ("WRITE", "DESCRIBE")]


def role_grants(settings: Settings) -> dict[str, list[Grant]]:
    """Every role's ACLs on the stack's own topics and groups (admin is a super user: none needed). The exporter
    describes every group and topic (lag: committed and end offsets) and reads no record."""
    return {
        "producer": producer_grants([settings.events_topic]),
        "ingest": job_grants([settings.events_topic], [settings.silver_events_topic, settings.consent_topic],
                             "flowlake-ingest"),
        "sessions": job_grants([settings.silver_events_topic], [settings.alerts_topic], "flowlake-sessions"),
        "exporter": [Grant("group", "*", "DESCRIBE"), Grant("topic", "*", "DESCRIBE")],
    }


def enabled(settings: Settings) -> bool:
    return settings.kafka_security == "sasl_ssl"


def passwords_file(settings: Settings) -> Path:
    return secrets_dir(settings) / "kafka-passwords.json"


def ensure_passwords(settings: Settings) -> dict[str, str]:
    """Every role's password: the configured one, else one generated once (kept 0600 in the data dir)."""
    return generated_passwords(passwords_file(settings), ROLES, settings.kafka_passwords)


def password(settings: Settings, role: str) -> str:
    found = (broker_password(settings) if role == BROKER and role not in settings.kafka_passwords
             else stored_password(passwords_file(settings), role, settings.kafka_passwords))
    if found is None:
        raise FlowlakeError(f"no Kafka password for {role!r} (roles: {', '.join(ROLES)}): set "
                            f"FLOWLAKE_KAFKA_PASSWORDS='{{\"{role}\": \"...\"}}' or run `flowlake up` to generate one")
    return found


def broker_password(settings: Settings) -> str:
    return generated_secret(settings, "kafka-broker-password", lambda: secrets.token_urlsafe(24))


def keystore_password(settings: Settings) -> str:
    return generated_secret(settings, "kafka-keystore-password", lambda: secrets.token_urlsafe(24))


def ca_file(settings: Settings) -> Path:
    """The certificate clients verify the broker with: FLOWLAKE_KAFKA_CA_FILE, else the local broker's own
    (self-signed) one."""
    return Path(settings.kafka_ca_file) if settings.kafka_ca_file else secrets_dir(settings) / "kafka-tls" / "cert.pem"


def keystore_file(settings: Settings) -> Path:
    return secrets_dir(settings) / "kafka-tls" / "keystore.p12"


def ensure_certificate(settings: Settings) -> Path:
    """The local broker's key and self-signed certificate (for its host, localhost and 127.0.0.1), made once
    with openssl; the key in a PKCS#12 keystore, as Kafka's Java reads it."""
    cert, keystore = ca_file(settings), keystore_file(settings)
    if cert.exists() and keystore.exists():
        return cert
    cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = keystore.with_name("key.pem")
    try:
        self_signed_certificate(cert, key, "Kafka", (settings.host, settings.kafka_host))
        openssl(["pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-name", "kafka", "-out", str(keystore),
                 "-passout", f"env:{KEYSTORE_PASSWORD_ENV}"], "the local Kafka's keystore",
                env={"PATH": "/usr/bin:/bin", KEYSTORE_PASSWORD_ENV: keystore_password(settings)})
    finally:
        key.unlink(missing_ok=True)
    keystore.chmod(0o600)
    return cert


KEYSTORE_PASSWORD_ENV = "FLOWLAKE_KAFKA_KEYSTORE_PASSWORD"


def client_config(settings: Settings, role: str) -> dict[str, Any]:
    """librdkafka's settings for a client acting as `role` (confluent-kafka's Producer, Consumer,
    AdminClient)."""
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap}
    if enabled(settings):
        mechanism = "PLAIN" if role == BROKER else MECHANISM
        config.update({"security.protocol": "SASL_SSL", "sasl.mechanisms": mechanism, "sasl.username": role,
                       "sasl.password": password(settings, role), "ssl.ca.location": str(ca_file(settings))})
    return config


def job_arguments(settings: Settings, role: str) -> list[str]:
    """The arguments a Flink job's driver gets to reach Kafka as `role` (its password in its environment)."""
    if not enabled(settings) or not role:
        return ["--kafka-security", "none"]
    return ["--kafka-security", "sasl_ssl", "--kafka-user", role, "--kafka-ca-file", str(ca_file(settings))]


def server_properties(settings: Settings) -> str:
    """The broker's listener and authorizer lines (rendered into server.properties)."""
    host, port, controller = settings.host, settings.kafka_port, settings.kafka_controller_port
    if not enabled(settings):
        return (f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}\n"
                f"advertised.listeners=PLAINTEXT://{host}:{port}\n"
                "inter.broker.listener.name=PLAINTEXT\n"
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n")
    broker = broker_password(settings)
    plain = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
             f'username="{BROKER}" password="{broker}" user_{BROKER}="{broker}";')
    return "\n".join([
        f"listeners=SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller}",
        f"advertised.listeners=SASL_SSL://{host}:{port}",
        "inter.broker.listener.name=SASL_SSL",
        "listener.security.protocol.map=CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL",
        # Clients: SCRAM (credentials in the cluster's metadata, set by flowlake at start). The broker's own
        # connections, to itself and to its controller: PLAIN with the password of this file.
        f"listener.name.sasl_ssl.sasl.enabled.mechanisms={MECHANISM},PLAIN",
        f"listener.name.sasl_ssl.plain.sasl.jaas.config={plain}",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={plain}",
        "sasl.mechanism.controller.protocol=PLAIN",
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={keystore_file(settings)}",
        f"ssl.keystore.password={keystore_password(settings)}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={ca_file(settings)}",
        "ssl.client.auth=none",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=" + ";".join(f"User:{user}" for user in SUPER_USERS),
        "",
    ])


def acl_bindings(principal: str, grants: list[Grant]) -> list[Any]:
    from confluent_kafka.admin import (  # type: ignore[attr-defined]
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    return [AclBinding(ResourceType[g.resource.upper()], g.name, ResourcePatternType[g.pattern.upper()],
                       f"User:{principal}", "*", AclOperation[g.operation], AclPermissionType.ALLOW)
            for g in grants]


def grant(settings: Settings, principal: str, grants: list[Grant]) -> None:
    """Create the ACLs (creating one that exists changes nothing), as the admin principal."""
    from confluent_kafka.admin import AdminClient

    if not enabled(settings) or not grants:
        return
    admin = AdminClient({**client_config(settings, "admin"), "logger": CLIENT_LOG})  # type: ignore[dict-item]
    for future in admin.create_acls(acl_bindings(principal, grants)).values():
        future.result(timeout=30)


def ensure_principals(settings: Settings) -> None:
    """Every role's SCRAM credential, set to its password (rotation: a new password in the settings or the
    secrets file, then `flowlake up`), and every role's ACLs on the stack's topics."""
    from confluent_kafka.admin import (  # type: ignore[attr-defined]
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialAlteration,
        UserScramCredentialUpsertion,
    )

    if not enabled(settings):
        return
    admin = AdminClient({**client_config(settings, BROKER), "logger": CLIENT_LOG})  # type: ignore[dict-item]
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(role, info, pw.encode()) for role, pw in ensure_passwords(settings).items()]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=30)
    bindings = [b for role, grants in role_grants(settings).items() for b in acl_bindings(role, grants)]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)

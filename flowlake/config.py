"""The one config object. Defaults suit the local stack; every field can be overridden by an
environment variable named FLOWLAKE_<FIELD> (e.g. FLOWLAKE_KAFKA_PORT=19092)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowlake.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_PASSWORD_FILE = "catalog-password"  # in <data dir>/secrets/
CDC_PASSWORD_FILE = "cdc-password"
SHOP_PASSWORD_FILE = "shop-password"


def _default_data_dir() -> Path:
    # PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be
    # able to reach its data dir: /root is closed to it, /var/lib is not.
    if os.geteuid() == 0:
        return Path("/var/lib/flowlake")
    return Path.home() / ".local" / "share" / "flowlake"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWLAKE_", frozen=True, extra="ignore")

    data_dir: Path = _default_data_dir()
    cache_dir: Path = Path.home() / ".cache" / "flowlake"

    # Where the Iceberg tables and Flink's checkpoints and savepoints live: file:// URIs (empty: under
    # the data dir) or s3://bucket/path on S3-compatible storage, each chosen by its URI scheme.
    warehouse: str = ""
    checkpoints: str = ""
    savepoints: str = ""
    # S3-compatible storage for s3:// locations: endpoint (empty: AWS itself, or the local server when
    # s3_enabled), region, path-style addressing (MinIO, Ceph, SeaweedFS) and keys. With the local server
    # and no secret key set, one is generated at `flowlake up` into <data dir>/secrets/s3-secret-key.
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_path_style_access: bool = True
    s3_access_key: str = "flowlake"
    s3_secret_key: SecretStr = SecretStr("")
    # The local S3-compatible server (MinIO, built from the Go module proxy): `flowlake up --with s3`.
    s3_enabled: bool = False
    s3_port: int = 9000

    host: str = "127.0.0.1"
    # Where flowlake's clients find each service when it is not on `host` (docker-compose, Kubernetes,
    # existing clusters): a host name per service; empty means `host`. The local stack binds to `host`.
    kafka_host: str = ""
    postgres_host: str = ""
    flink_host: str = ""
    trino_host: str = ""
    prometheus_host: str = ""
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    postgres_port: int = 5433
    flink_rest_port: int = 8081
    flink_rpc_port: int = 6123
    flink_metrics_ports: str = "9249-9252"
    trino_port: int = 8080  # plain HTTP: health checks and Trino's own node traffic, no queries
    trino_https_port: int = 8443  # where clients connect (TLS, password)
    prometheus_port: int = 9090
    # Pulsar is optional: `flowlake up --with pulsar` or FLOWLAKE_PULSAR_ENABLED=true.
    pulsar_enabled: bool = False
    pulsar_port: int = 6650
    pulsar_web_port: int = 8085  # Pulsar's default 8080 is Trino's
    pulsar_bookie_port: int = 3181
    # The maintenance scheduler (`flowlake maintain --schedule`), a stack service when enabled
    # (`flowlake up --with maintenance`); it serves its metrics on this port.
    maintenance_enabled: bool = False
    maintenance_metrics_port: int = 9256
    # The Kafka consumer-lag exporter (`flowlake exporter`), a stack service; which consumer groups it
    # reports (a regular expression over group ids).
    exporter_port: int = 9257
    exporter_group_pattern: str = ".*"
    # How often the exporter reads the privacy requests' deadlines and the table checks' latest results
    # through Trino (0: not at all).
    privacy_metrics_interval_seconds: float = 60.0
    # Daily gold restated from silver (`flowlake gold restate`, on the maintenance scheduler at this cron
    # schedule, UTC): the last restate_lookback_days complete days, each final (not restated again) once it
    # ended restate_margin_days ago.
    restate_schedule: str = "20 1 * * *"
    restate_lookback_days: int = 3
    restate_margin_days: int = 2

    # Alertmanager (Debian's prometheus-alertmanager) routes Prometheus' alerts: critical ones page, warnings
    # ticket; both go to `flowlake alerts serve` (a stack service that records every notification, shown by
    # `flowlake alerts` and `flowlake status`) and to each receiver configured below (empty: none).
    alertmanager_host: str = ""
    alertmanager_port: int = 9095
    alert_receiver_host: str = ""  # where Alertmanager finds the receiver (compose: its service name)
    alert_receiver_port: int = 9258
    alert_webhook_url: str = ""  # any webhook (Alertmanager's JSON), e.g. an incident tool
    alert_slack_webhook_url: SecretStr = SecretStr("")  # Slack or a Slack-compatible chat (Mattermost, Rocket.Chat)
    alert_slack_channel: str = "#flowlake-alerts"
    alert_email_to: str = ""  # critical alerts also by email, through this SMTP server:
    smtp_smarthost: str = ""  # host:port
    smtp_from: str = "flowlake-alertmanager@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_require_tls: bool = True
    # How quickly Alertmanager notifies: wait for more alerts of a group, then between updates of a group.
    alert_group_wait_seconds: int = 30
    alert_group_interval_seconds: int = 300
    # Test stacks only: every `for:` and range window of the alert rules multiplied by this (with a floor of
    # 15 s), and rules evaluated every 5 s, so an alert's whole path can be proven in a minute.
    alert_time_scale: float = 1.0

    kafka_heap: str = "768m"
    pulsar_heap: str = "512m"
    flink_jobmanager_memory: str = "1024m"
    flink_taskmanager_memory: str = "4096m"
    flink_taskmanager_slots: int = 4
    flink_parallelism: int = 2
    trino_heap: str = "2G"

    # Accounts of the local Trino and their role: `analyst` reads silver, gold and the views, and
    # writes nothing; `engineer` may do everything (bronze and quarantine hold raw PII). Passwords
    # come from FLOWLAKE_TRINO_PASSWORDS ('{"analyst": "..."}'); a user without one gets a random
    # password at `flowlake up`, kept in <data dir>/secrets/trino-passwords.json.
    trino_users: dict[str, Literal["analyst", "engineer"]] = {"analyst": "analyst", "engineer": "engineer"}
    trino_passwords: dict[str, SecretStr] = {}
    # Who flowlake itself connects as (views, demo, checks); an engineer, as the views run with
    # their creator's rights.
    trino_user: str = "engineer"

    # Kafka's client listener: TLS and SASL/SCRAM-SHA-512, a principal per role, ACLs (flowlake/kafka_security.py);
    # `none`: PLAINTEXT, for a broker without security (compose and Kubernetes until theirs is on). Passwords per
    # role from FLOWLAKE_KAFKA_PASSWORDS ('{"producer": "..."}'), else generated into <data dir>/secrets/; the
    # broker's CA certificate from kafka_ca_file, else the local broker's own.
    kafka_security: Literal["sasl_ssl", "none"] = "sasl_ssl"
    kafka_passwords: dict[str, SecretStr] = {}
    kafka_ca_file: str = ""

    # Flink's REST endpoint over TLS with a client certificate required, TLS inside the cluster
    # (flowlake/flink_security.py); false: plain HTTP (compose and Kubernetes until theirs is on). A cluster
    # flowlake did not start: its CA and a client certificate and key, as PEM files.
    flink_tls: bool = True
    flink_ca_file: str = ""
    flink_client_cert: str = ""
    flink_client_key: str = ""

    catalog_name: str = "lakehouse"
    catalog_database: str = "iceberg_catalog"
    catalog_user: str = "flowlake"
    # Empty: the local stack's, generated once per data dir by `flowlake up` (catalog_secret()).
    catalog_password: SecretStr = SecretStr("")

    # Change data capture (`flowlake submit cdc`): the PostgreSQL database it reads (postgres_host and
    # postgres_port; by default the local stack's demo shop), the tables it captures (each must have
    # REPLICA IDENTITY FULL and be in the publication), its replication user and its slot. Empty
    # passwords: the local stack's, generated once per data dir by `flowlake up`. shop_user is the demo
    # application's own user, which `flowlake generate --cdc` writes as.
    cdc_database: str = "shop"
    cdc_tables: str = "customers,products,order_status"
    cdc_user: str = "flowlake_cdc"
    cdc_password: SecretStr = SecretStr("")
    cdc_slot: str = "flowlake_cdc"
    cdc_publication: str = "flowlake_cdc"
    shop_user: str = "shop"
    shop_password: SecretStr = SecretStr("")

    # Where the medallion job reads the events topic from (and `flowlake generate` writes it to);
    # pulsar also starts the Pulsar broker with the stack.
    events_source: Literal["kafka", "pulsar"] = "kafka"
    events_topic: str = "events"
    # A multiple of the job's parallelism (2), so that every source subtask and its Python worker get an
    # equal share: with 3 partitions one of two took two thirds of the work (docs/benchmarks.md: 6
    # partitions moved more records per second on less CPU per record than 3, in every paired round).
    events_partitions: int = 6
    # What the medallion job publishes: each valid, masked, deduplicated event (exactly once), keyed
    # by user; the input of the sessions job. Same partition count as events_topic.
    silver_events_topic: str = "events.silver"
    # Velocity alerts of the sessions job (exactly once, keyed by card token).
    alerts_topic: str = "alerts"
    # Consent withdrawn by opt-out and unsubscribe requests (gold.consent), for the systems that honour it:
    # compacted, keyed by user token and purpose, one record per change (exactly once).
    consent_topic: str = "consent"
    checkpoint_interval_seconds: int = 10

    start_timeout_seconds: int = 180

    # Submitting from a Flink image instead of the local job environment: its Flink distribution
    # (/opt/flink) and the Python its TaskManagers run UDFs with. Empty: PyFlink's own, from `flowlake install`.
    flink_home: str = ""
    job_python: str = ""

    @field_validator("warehouse", "checkpoints", "savepoints")
    @classmethod
    def _storage_uri(cls, uri: str) -> str:
        if uri and not re.fullmatch(r"(file:///|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/|$))\S*", uri):
            raise ValueError(f"{uri!r} is no storage location: use file:///absolute/path or s3://bucket/path")
        return uri.rstrip("/")

    @field_validator("trino_users")
    @classmethod
    def _plain_user_names(cls, users: dict[str, str]) -> dict[str, str]:
        bad = [u for u in users if not re.fullmatch(r"[A-Za-z0-9_.-]+", u)]
        if bad:
            raise ValueError(f"Trino user names may hold letters, digits, '_', '.' and '-' only: {bad}")
        return users

    @model_validator(mode="after")
    def _trino_user_is_an_engineer(self) -> Settings:
        if self.trino_users.get(self.trino_user) != "engineer":
            raise ValueError(f"FLOWLAKE_TRINO_USER={self.trino_user!r} must be one of FLOWLAKE_TRINO_USERS "
                             "with the engineer role (flowlake creates views and reads every layer)")
        return self

    # --- derived values -------------------------------------------------------------------
    @property
    def warehouse_uri(self) -> str:
        return self.warehouse or (self.data_dir / "warehouse").as_uri()

    @property
    def checkpoints_uri(self) -> str:
        return self.checkpoints or (self.data_dir / "flink" / "checkpoints").as_uri()

    @property
    def savepoints_uri(self) -> str:
        return self.savepoints or (self.data_dir / "flink" / "savepoints").as_uri()

    @property
    def uses_s3(self) -> bool:
        return any(uri.startswith("s3://") for uri in (self.warehouse_uri, self.checkpoints_uri, self.savepoints_uri))

    @property
    def s3_endpoint_url(self) -> str:
        """The S3 endpoint clients use; empty means AWS's own, found from the region."""
        if self.s3_endpoint:
            return self.s3_endpoint.rstrip("/")
        return f"http://{self.host}:{self.s3_port}" if self.s3_enabled else ""

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host or self.host}:{self.kafka_port}"

    @property
    def pulsar_wanted(self) -> bool:
        return self.pulsar_enabled or self.events_source == "pulsar"

    @property
    def pulsar_service_url(self) -> str:
        return f"pulsar://{self.host}:{self.pulsar_port}"

    @property
    def pulsar_admin_url(self) -> str:
        return f"http://{self.host}:{self.pulsar_web_port}"

    @property
    def flink_rest_url(self) -> str:
        scheme = "https" if self.flink_tls else "http"
        return f"{scheme}://{self.flink_host or self.host}:{self.flink_rest_port}"

    @property
    def trino_url(self) -> str:
        return f"https://{self.trino_host or self.host}:{self.trino_https_port}"

    @property
    def trino_http_url(self) -> str:
        return f"http://{self.trino_host or self.host}:{self.trino_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.prometheus_host or self.host}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.alertmanager_host or self.host}:{self.alertmanager_port}"

    @property
    def alert_receiver_url(self) -> str:
        return f"http://{self.alert_receiver_host or self.host}:{self.alert_receiver_port}/alerts"

    @property
    def catalog_jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.postgres_host or self.host}:{self.postgres_port}/{self.catalog_database}"

    def catalog_secret(self) -> str:
        """The catalog user's password: FLOWLAKE_CATALOG_PASSWORD, else the one `flowlake up` generated for the
        local stack (flowlake/keys.py keeps every secret; this one is read here, where the URLs are made)."""
        return self._password(self.catalog_password, "CATALOG_PASSWORD", CATALOG_PASSWORD_FILE, "catalog")

    def cdc_secret(self) -> str:
        return self._password(self.cdc_password, "CDC_PASSWORD", CDC_PASSWORD_FILE, "CDC user's")

    def shop_secret(self) -> str:
        return self._password(self.shop_password, "SHOP_PASSWORD", SHOP_PASSWORD_FILE, "shop user's")

    def _password(self, given: SecretStr, variable: str, file: str, whose: str) -> str:
        if given.get_secret_value():
            return given.get_secret_value()
        path = self.data_dir / "secrets" / file
        try:
            return path.read_text().strip()
        except OSError:
            raise ConfigError(f"no {whose} password: set FLOWLAKE_{variable}, or run `flowlake up` (it makes "
                              f"one in {path})") from None

    @property
    def cdc_table_list(self) -> list[str]:
        return [name.strip() for name in self.cdc_tables.split(",") if name.strip()]

    @property
    def catalog_sqlalchemy_url(self) -> str:
        password = self.catalog_secret()
        return (
            f"postgresql+psycopg2://{self.catalog_user}:{password}"
            f"@{self.postgres_host or self.host}:{self.postgres_port}/{self.catalog_database}"
        )

    @property
    def metrics_port_list(self) -> list[int]:
        low, _, high = self.flink_metrics_ports.partition("-")
        return list(range(int(low), int(high or low) + 1))


def load_settings() -> Settings:
    """The settings from the environment; a value flowlake cannot use is a ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"FLOWLAKE_{'_'.join(str(p) for p in e['loc']).upper() or '<settings>'}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(f"{problems} (unset the variable for the default, or give a valid value)") from None

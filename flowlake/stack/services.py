"""The services of the local stack, each a plain process: how to prepare its files, the command
that runs it in the foreground, and how to tell that it is healthy."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from rich.console import Console

from flowlake import flink_security, kafka_security, keys
from flowlake import trino_security as security
from flowlake.alerts import alertmanager_config, scale_rules
from flowlake.clients import storage
from flowlake.clients.http import http_ok
from flowlake.clients.pulsar import NAMESPACE
from flowlake.config import CATALOG_PASSWORD_FILE, CDC_PASSWORD_FILE, REPO_ROOT, SHOP_PASSWORD_FILE, Settings
from flowlake.errors import ServiceUnavailable
from flowlake.stack.runtime import Runtime
from udfs.masking import HASH_KEY_ENV

LOCAL_CONFIGS = REPO_ROOT / "deploy" / "local"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
PROMETHEUS_RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"
KAFKA_VERSION = "3.9.1"
PULSAR_VERSION = "4.0.7"
console = Console(stderr=True)


def render(template: Path, target: Path, **values: object) -> None:
    """Fill a config template; a placeholder without a value is an error (KeyError), not a blank."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    target.write_text(text)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _run_checked(cmd: list[str], what: str, user: str | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, user=user, group=user,
                            extra_groups=[] if user else None)
    if result.returncode != 0:
        raise ServiceUnavailable(f"{what} failed (exit {result.returncode}): {(result.stdout + result.stderr)[-2000:]}")


@dataclass(frozen=True)
class Service:
    """One process of the stack. Subclasses fill in the three steps."""

    name: str
    settings: Settings
    runtime: Runtime
    user: str | None = field(default=None)

    @property
    def home(self) -> Path:
        return self.settings.data_dir / self.name

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def owns_port(self) -> bool:
        """False for a process that listens on no fixed port of its own (a TaskManager)."""
        return True

    @property
    def auth(self) -> str:
        """How a client proves who it is (`flowlake status`); docs/security.md says what is still open."""
        return "none, on this machine only" if _loopback(self.settings.host) else "none"

    def prepare(self) -> None:
        """Write configs and initialise storage; safe to run again."""

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def after_start(self) -> None:
        """One-off set-up once the service is healthy (idempotent)."""

    @property
    def required(self) -> bool:
        """Whether the stack needs this service with its settings (an optional one that is off: no)."""
        return True

    def base_env(self, java_home: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLINK_", "JAVA_", "PYTHON"))}
        if java_home is not None:
            env["JAVA_HOME"] = str(java_home)
            env["PATH"] = f"{java_home / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        return env


PG_SUPERUSER = "postgres"
ROLES_MARKER = "flowlake-roles"


class Postgres(Service):
    @property
    def port(self) -> int:
        return self.settings.postgres_port

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    def _as_service_user(self, cmd: list[str]) -> None:
        _run_checked(cmd, "PostgreSQL initdb", user=self.user)

    @property
    def socket_dir(self) -> Path:
        return self.home / "sock"

    @property
    def auth(self) -> str:
        return ("SCRAM; superuser via socket only" if self.separated
                else "password; catalog user is superuser")

    @property
    def separated(self) -> bool:
        """Whether this cluster was made with the superuser apart from the catalog user (before, the catalog
        user was the cluster's superuser: docs/security.md says how to move such a cluster over)."""
        return (self.pgdata / ROLES_MARKER).exists()

    def ensure_password(self) -> None:
        """The catalog user's password, unless the settings have one: generated once per data dir. A cluster made
        when the default was `flowlake` and the catalog user its superuser gets in with that alone; a separated
        one's catalog user gets the new password at after_start."""
        if self.settings.catalog_password.get_secret_value():
            return
        unseparated = (self.pgdata / "PG_VERSION").exists() and not self.separated
        keys.generated_secret(self.settings, CATALOG_PASSWORD_FILE,
                              lambda: "flowlake" if unseparated else secrets.token_urlsafe(24))
        for given, file in ((self.settings.cdc_password, CDC_PASSWORD_FILE),
                            (self.settings.shop_password, SHOP_PASSWORD_FILE)):
            if not given.get_secret_value():
                keys.generated_secret(self.settings, file, lambda: secrets.token_urlsafe(24))

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        # The superuser's only way in is this socket: its directory is the service user's alone.
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.chmod(0o700)
        if self.user:
            account = pwd.getpwnam(self.user)
            for path in (self.home, self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.ensure_password()
        if (self.pgdata / "PG_VERSION").exists():
            if self.separated:  # flowlake's own file: who may connect follows the settings
                self._write_owned(self.pgdata / "pg_hba.conf", pg_hba(self.settings))
            return
        self._as_service_user([
            str(self.runtime.postgres_bin / "initdb"), "-D", str(self.pgdata), "-U", PG_SUPERUSER,
            "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8",
        ])
        self._write_owned(self.pgdata / "pg_hba.conf", pg_hba(self.settings))
        self._write_owned(self.pgdata / ROLES_MARKER, f"superuser {PG_SUPERUSER}; catalog user "
                                                      f"{self.settings.catalog_user}\n")

    def _write_owned(self, path: Path, text: str) -> None:
        path.write_text(text)
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(path, account.pw_uid, account.pw_gid)

    def command(self) -> tuple[list[str], dict[str, str]]:
        cmd = [str(self.runtime.postgres_bin / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
               "-c", f"listen_addresses={self.settings.host}", "-c", f"unix_socket_directories={self.socket_dir}",
               "-c", "max_connections=200", "-c", "shared_buffers=128MB", "-c", "fsync=on",
               "-c", "password_encryption=scram-sha-256",
               # Change data capture (the cdc job): logical decoding, a slot per job and one more per
               # snapshot reader while the initial snapshot runs.
               "-c", "wal_level=logical", "-c", "max_replication_slots=10", "-c", "max_wal_senders=10"]
        return cmd, self.base_env()

    def _connect(self, database: str = "postgres"):  # type: ignore[no-untyped-def]
        """As the superuser, over the socket (a cluster made before the roles were separated: as the catalog
        user, its superuser, over TCP)."""
        import psycopg2  # the control environment's driver, also used by PyIceberg

        if self.separated:
            return psycopg2.connect(host=str(self.socket_dir), port=self.port, dbname=database, user=PG_SUPERUSER,
                                    connect_timeout=2)
        return psycopg2.connect(host=self.settings.host, port=self.port, dbname=database,
                                user=self.settings.catalog_user,
                                password=self.settings.catalog_secret(), connect_timeout=2)

    def healthy(self) -> bool:
        if (self.pgdata / "PG_VERSION").exists():
            self.ensure_password()  # a cluster already running when flowlake was upgraded was not prepared
        try:
            self._connect().close()
            return True
        except Exception:
            return False

    def after_start(self) -> None:
        conn = self._connect()
        conn.autocommit = True
        s = self.settings
        with conn.cursor() as cur:
            if self.separated:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (s.catalog_user,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                # The password follows the settings (rotation: change it in the secrets, `flowlake up`).
                cur.execute(f'{verb} ROLE "{s.catalog_user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                            "NOREPLICATION PASSWORD %s", (s.catalog_secret(),))
                for database in ("postgres", "template1"):
                    cur.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (s.catalog_database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{s.catalog_database}" OWNER "{s.catalog_user}"')
            if self.separated:
                cur.execute(f'REVOKE ALL ON DATABASE "{s.catalog_database}" FROM PUBLIC')
                cur.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{s.catalog_database}" TO "{s.catalog_user}"')
            else:
                console.print(f"[yellow]warning:[/yellow] the catalog's PostgreSQL in {self.pgdata} was made before "
                              f"flowlake kept its superuser apart: {s.catalog_user} is a superuser and can read "
                              "every database, and the shop database of `flowlake submit cdc` is not made in it. "
                              "docs/security.md (\"PostgreSQL\") says how to move it over.")
        conn.close()
        if self.separated:  # an older cluster lets no replication user in (its pg_hba.conf is not ours)
            from flowlake.shop import ensure_database

            ensure_database(self._connect, s)


def pg_hba(settings: Settings) -> str:
    """Who may connect to the catalog's PostgreSQL: the superuser over the socket only (whose directory only the
    service user reaches), the catalog user to its own database, the shop's application user to the shop, the
    cdc job's user to the shop and to replication, each with a SCRAM password; anything else refused."""
    return (f"# Written by flowlake. First match wins; no line matches = refused.\n"
            f"local all {PG_SUPERUSER} trust\n"
            f"host {settings.catalog_database} {settings.catalog_user} all scram-sha-256\n"
            f"host {settings.cdc_database} {settings.shop_user} all scram-sha-256\n"
            f"host {settings.cdc_database} {settings.cdc_user} all scram-sha-256\n"
            f"host replication {settings.cdc_user} all scram-sha-256\n")


class Kafka(Service):
    @property
    def port(self) -> int:
        return self.settings.kafka_port

    @property
    def classpath(self) -> str:
        return str(self.runtime.jar_dir("kafka") / "*")

    @property
    def auth(self) -> str:
        return "SCRAM over TLS, ACLs" if kafka_security.enabled(self.settings) else super().auth

    def prepare(self) -> None:
        s = self.settings
        logs = self.home / "data"
        if kafka_security.enabled(s):
            kafka_security.ensure_certificate(s)
            kafka_security.ensure_passwords(s)  # made here, by the stack manager, before any client starts
        render(LOCAL_CONFIGS / "kafka" / "server.properties", self.home / "server.properties",
               kafka_version=KAFKA_VERSION, host=s.host, port=s.kafka_port,
               controller_port=s.kafka_controller_port, log_dirs=logs, partitions=s.events_partitions,
               security=kafka_security.server_properties(s))
        (self.home / "server.properties").chmod(0o600)  # the broker's own password and the keystore's
        render(LOCAL_CONFIGS / "kafka" / "log4j.properties", self.home / "log4j.properties",
               log_file=s.log_dir / "kafka-server.log")
        if (logs / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        java = self.runtime.java17_home / "bin" / "java"
        # `=` keeps an id that starts with "-" from being read as an option.
        _run_checked([str(java), "-cp", self.classpath, f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
                      "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                      f"--config={self.home / 'server.properties'}"], "Kafka storage format")

    def command(self) -> tuple[list[str], dict[str, str]]:
        java = self.runtime.java17_home / "bin" / "java"
        heap = self.settings.kafka_heap
        cmd = [str(java), f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
               f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
               f"-Dkafka.logs.dir={self.settings.log_dir}", "-cp", self.classpath,
               "kafka.Kafka", str(self.home / "server.properties")]
        return cmd, self.base_env(self.runtime.java17_home)

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        # log_level 0: a health probe of a broker that is still starting is not an error to print.
        admin = AdminClient({**kafka_security.client_config(self.settings, kafka_security.BROKER),
                             "socket.timeout.ms": 2000, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:
            return False
        return bool(metadata.brokers)

    def after_start(self) -> None:
        from flowlake.clients.kafka import ensure_stack_topics

        kafka_security.ensure_principals(self.settings)
        ensure_stack_topics(self.settings)


class FlinkProcess(Service):
    """JobManager or TaskManager of the session cluster, run from PyFlink's own distribution."""

    @property
    def port(self) -> int:
        return self.settings.flink_rest_port

    @property
    def owns_port(self) -> bool:
        return self.name == "flink-jobmanager"

    @property
    def auth(self) -> str:
        if not flink_security.enabled(self.settings):
            return super().auth
        return "TLS client certificate" if self.name == "flink-jobmanager" else "TLS inside the cluster"

    @property
    def conf_dir(self) -> Path:
        return self.settings.data_dir / "flink" / "conf"

    def prepare(self) -> None:
        from flowlake.stack.install import ensure_flink_functions

        s = self.settings
        ensure_flink_functions(self.runtime)  # in lib/: the source table's event-time column calls it
        if self.settings.uses_s3:
            from flowlake.stack.install import ensure_s3_plugin

            ensure_s3_plugin(self.runtime)
        flink_dir = s.data_dir / "flink"
        for sub in ("checkpoints", "savepoints", "tmp", "logs"):
            (flink_dir / sub).mkdir(parents=True, exist_ok=True)
        if flink_security.enabled(s):
            flink_security.ensure_certificates(s, self.runtime.java17_home)
        flat = {**storage.flink_config(s), **flink_security.flink_config(s)}
        flat_config = "".join(f"{key}: {json.dumps(value)}\n" for key, value in flat.items())
        render(LOCAL_CONFIGS / "flink" / "config.yaml", self.conf_dir / "config.yaml",
               flink_version="1.20", host=s.host, jobmanager_memory=s.flink_jobmanager_memory,
               taskmanager_memory=s.flink_taskmanager_memory, slots=s.flink_taskmanager_slots,
               rest_port=s.flink_rest_port, rpc_port=s.flink_rpc_port, parallelism=s.flink_parallelism,
               checkpoint_interval=f"{s.checkpoint_interval_seconds}s",
               checkpoint_dir=s.checkpoints_uri, savepoint_dir=s.savepoints_uri,
               job_python=self.runtime.job_python, metrics_ports=s.flink_metrics_ports,
               java_home=self.runtime.java17_home, log_dir=flink_dir / "logs", pid_dir=flink_dir / "pids",
               tmp_dir=flink_dir / "tmp", flat_config=flat_config)
        (self.conf_dir / "config.yaml").chmod(0o600)  # may hold the S3 secret key, holds the keystores' password
        shutil.copy2(self.runtime.flink_home / "conf" / "log4j-cli.properties", self.conf_dir / "log4j-cli.properties")
        # JSON lines (start-foreground reads log4j-console.properties; the daemon scripts log4j.properties).
        template = self.conf_dir / "log-template.json"
        shutil.copy2(LOCAL_CONFIGS / "flink" / "log-template.json", template)
        for name in ("log4j-console.properties", "log4j.properties"):
            render(LOCAL_CONFIGS / "flink" / "log4j-console.properties", self.conf_dir / name,
                   template_uri=template.as_uri())

    def flink_env(self) -> dict[str, str]:
        env = self.base_env(self.runtime.java17_home)
        env["FLINK_CONF_DIR"] = str(self.conf_dir)
        env["FLINK_LOG_DIR"] = str(self.settings.data_dir / "flink" / "logs")
        env["FLINK_HOME"] = str(self.runtime.flink_home)
        env["FLOWLAKE_SERVICE"] = self.name  # the `service` of its JSON log lines
        env[HASH_KEY_ENV] = keys.pii_hash_key(self.settings)
        return env

    def command(self) -> tuple[list[str], dict[str, str]]:
        script = "jobmanager.sh" if self.name == "flink-jobmanager" else "taskmanager.sh"
        return [str(self.runtime.flink_home / "bin" / script), "start-foreground"], self.flink_env()

    def healthy(self) -> bool:
        base, tls = self.settings.flink_rest_url, flink_security.requests_options(self.settings)
        if self.name == "flink-jobmanager":
            return http_ok(f"{base}/overview", **tls) is not None
        response = http_ok(f"{base}/taskmanagers", **tls)
        return response is not None and len(response.json().get("taskmanagers", [])) > 0


def write_trino_etc(settings: Settings, etc: Path, data_dir: Path, keystore: Path) -> None:
    """Trino's configuration directory from the templates in deploy/local/trino: server, users, groups,
    rules, the lakehouse catalog. The same files serve the local stack and a Trino container
    (`flowlake init --trino-etc`); paths are as Trino sees them."""
    s = settings
    src = LOCAL_CONFIGS / "trino"
    render(src / "node.properties", etc / "node.properties", data_dir=data_dir)
    render(src / "jvm.config", etc / "jvm.config", heap=s.trino_heap)
    render(src / "config.properties", etc / "config.properties", host=s.trino_host or s.host, port=s.trino_port,
           https_port=s.trino_https_port, keystore=keystore, etc=etc, internal_secret=keys.internal_secret(s))
    render(src / "log.properties", etc / "log.properties")
    # Users, groups and rules: Trino re-reads these files every few seconds.
    render(src / "password-authenticator.properties", etc / "password-authenticator.properties",
           password_file=etc / "password.db")
    keys.write_private(etc / "password.db", security.password_file_text(keys.ensure_passwords(s)))
    render(src / "group-provider.properties", etc / "group-provider.properties", group_file=etc / "group.txt")
    (etc / "group.txt").write_text(security.group_file_text(dict(s.trino_users)))
    render(src / "access-control.properties", etc / "access-control.properties", rules_file=etc / "rules.json")
    shutil.copyfile(src / "rules.json", etc / "rules.json")
    shutil.copyfile(src / "access-control-table-procedures.properties",
                    etc / "access-control-table-procedures.properties")
    catalog = etc / "catalog" / f"{s.catalog_name}.properties"
    render(src / "catalog" / "lakehouse.properties", catalog,
           catalog_name=s.catalog_name, jdbc_url=s.catalog_jdbc_url, jdbc_user=s.catalog_user,
           jdbc_password=s.catalog_secret(), warehouse_uri=s.warehouse_uri,
           s3_properties=storage.trino_properties(s))
    catalog.chmod(0o600)  # holds the catalog password (and S3 keys)


class Trino(Service):
    @property
    def auth(self) -> str:
        return "TLS and password, roles"

    @property
    def port(self) -> int:
        return self.settings.trino_port

    def prepare(self) -> None:
        security.ensure_certificate(self.settings)
        write_trino_etc(self.settings, self.home / "etc", self.home / "data", security.keystore_file(self.settings))
        from flowlake.stack.install import ensure_trino_access_plugin

        ensure_trino_access_plugin(self.runtime)

    def command(self) -> tuple[list[str], dict[str, str]]:
        java_home = self.runtime.trino_java_home
        launcher = self.runtime.trino_home / "bin" / "launcher"
        cmd = [str(launcher), "run", f"--etc-dir={self.home / 'etc'}", f"--data-dir={self.home / 'data'}",
               f"--server-log-file={self.settings.log_dir / f'{self.name}-server.log'}"]
        return cmd, self.base_env(java_home)

    def healthy(self) -> bool:
        response = http_ok(f"{self.settings.trino_http_url}/v1/info")
        if response is None or response.json().get("starting") is not False:
            return False
        # Started is not ready: until the coordinator has registered itself as a worker, queries that
        # read a table fail with "nodes is empty".
        from flowlake.clients.trino import query
        from flowlake.errors import FlowlakeError

        try:
            active = query(self.settings, "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")[1]
            return int(active[0][0]) > 0
        except (FlowlakeError, OSError):
            return False


class Prometheus(Service):
    @property
    def port(self) -> int:
        return self.settings.prometheus_port

    def prepare(self) -> None:
        targets = [f"{self.settings.host}:{p}" for p in self.settings.metrics_port_list]
        maintenance = [f"{self.settings.host}:{self.settings.maintenance_metrics_port}"]
        exporter = [f"{self.settings.host}:{self.settings.exporter_port}"]
        alertmanager = [f"{self.settings.alertmanager_host or self.settings.host}:{self.settings.alertmanager_port}"]
        scale = self.settings.alert_time_scale
        rules_dir = PROMETHEUS_RULES
        if scale != 1:  # a test stack: the rules with shorter windows, in its own dir
            rules_dir = self.home / "rules"
            rules_dir.mkdir(parents=True, exist_ok=True)
            for rule_file in PROMETHEUS_RULES.glob("*.yml"):
                (rules_dir / rule_file.name).write_text(scale_rules(rule_file.read_text(), scale))
        render(PROMETHEUS_CONFIG, self.home / "prometheus.yml", flink_targets=str(targets).replace("'", '"'),
               maintenance_targets=str(maintenance).replace("'", '"'),
               exporter_targets=str(exporter).replace("'", '"'),
               alertmanager_targets=str(alertmanager).replace("'", '"'), rules_dir=rules_dir,
               evaluation_interval="15s" if scale == 1 else "5s")

    def command(self) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        cmd = [str(self.runtime.prometheus_bin), f"--config.file={self.home / 'prometheus.yml'}",
               f"--storage.tsdb.path={self.home / 'tsdb'}", f"--web.listen-address={s.host}:{s.prometheus_port}",
               "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle"]
        return cmd, self.base_env()

    def healthy(self) -> bool:
        return http_ok(f"{self.settings.prometheus_url}/-/ready") is not None


class Alertmanager(Service):
    """Prometheus' Alertmanager (Debian's prometheus-alertmanager), one instance (no cluster peers)."""

    @property
    def port(self) -> int:
        return self.settings.alertmanager_port

    def prepare(self) -> None:
        import yaml

        config = self.home / "alertmanager.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(alertmanager_config(self.settings), sort_keys=False))
        config.chmod(0o600)  # may hold the Slack URL and the SMTP password

    def command(self) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        cmd = [str(self.runtime.alertmanager_bin), f"--config.file={self.home / 'alertmanager.yml'}",
               f"--storage.path={self.home / 'data'}", f"--web.listen-address={s.host}:{s.alertmanager_port}",
               f"--web.external-url={s.alertmanager_url}", "--cluster.listen-address=", "--data.retention=120h"]
        return cmd, self.base_env()

    def healthy(self) -> bool:
        return http_ok(f"{self.settings.alertmanager_url}/-/ready") is not None


class AlertReceiver(Service):
    """`flowlake alerts serve`: records every notification Alertmanager delivers (`flowlake alerts`)."""

    @property
    def port(self) -> int:
        return self.settings.alert_receiver_port

    def command(self) -> tuple[list[str], dict[str, str]]:
        cli = Path(sys.executable).parent / "flowlake"
        return [str(cli), "alerts", "serve"], self.base_env()

    def healthy(self) -> bool:
        return http_ok(f"http://{self.settings.host}:{self.settings.alert_receiver_port}/-/ready") is not None


class Pulsar(Service):
    """A Pulsar standalone broker: RocksDB metadata and one bookie in the same JVM, no functions
    worker, no stream storage."""

    @property
    def port(self) -> int:
        return self.settings.pulsar_port

    def prepare(self) -> None:
        from flowlake.stack.install import ensure_extra

        ensure_extra(self.runtime, "pulsar")  # on first use: the broker's jars
        s = self.settings
        render(LOCAL_CONFIGS / "pulsar" / "standalone.conf", self.home / "standalone.conf",
               pulsar_version=PULSAR_VERSION, host=s.host, port=s.pulsar_port, web_port=s.pulsar_web_port)
        render(LOCAL_CONFIGS / "pulsar" / "log4j2.properties", self.home / "log4j2.properties",
               log_file=s.log_dir / "pulsar-standalone.log")

    def command(self) -> tuple[list[str], dict[str, str]]:
        java = self.runtime.java17_home / "bin" / "java"
        heap, data = self.settings.pulsar_heap, self.home / "data"
        cmd = [str(java), f"-Xmx{heap}", f"-Xms{heap}", f"-XX:MaxDirectMemorySize={heap}", "-XX:+UseG1GC",
               f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
               "-cp", str(self.runtime.jar_dir("pulsar") / "*"), "org.apache.pulsar.PulsarStandaloneStarter",
               "-c", str(self.home / "standalone.conf"), "-nfw", "-nss",
               "--metadata-dir", str(data / "metadata"), "--bookkeeper-dir", str(data / "bookkeeper"),
               "--bookkeeper-port", str(self.settings.pulsar_bookie_port)]
        return cmd, self.base_env(self.runtime.java17_home)

    @property
    def required(self) -> bool:
        return self.settings.pulsar_wanted

    def healthy(self) -> bool:
        # The broker's own health check: writes and reads a message on a heartbeat topic.
        admin = self.settings.pulsar_admin_url
        response = http_ok(f"{admin}/admin/v2/brokers/health", timeout=10)
        if response is None or response.text.strip() != "ok":
            return False
        # The standalone broker creates its default namespace only after it answers health checks.
        namespaces = http_ok(f"{admin}/admin/v2/namespaces/public", timeout=10)
        return namespaces is not None and NAMESPACE in namespaces.json()

    def after_start(self) -> None:
        from flowlake.clients.pulsar import ensure_topic

        ensure_topic(self.settings, self.settings.events_topic, self.settings.events_partitions)


class ObjectStore(Service):
    """MinIO on the local disk: S3-compatible storage for s3:// warehouses and checkpoints."""

    @property
    def auth(self) -> str:
        return "access key and secret key"

    @property
    def port(self) -> int:
        return self.settings.s3_port

    def prepare(self) -> None:
        from flowlake.stack.install import ensure_minio

        ensure_minio(self.runtime)  # on first use: built from the Go module proxy

    def command(self) -> tuple[list[str], dict[str, str]]:
        binary = self.runtime.minio_bin
        if not binary.exists():
            raise ServiceUnavailable(f"MinIO is not built ({binary}): install Go >= 1.24 and run `flowlake install`")
        s = self.settings
        env = self.base_env()
        env.update(MINIO_ROOT_USER=s.s3_access_key, MINIO_ROOT_PASSWORD=keys.s3_secret_key(s),
                   MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_REGION=s.s3_region)
        return [str(binary), "server", "--quiet", "--address", f"{s.host}:{s.s3_port}", str(self.home / "data")], env

    @property
    def required(self) -> bool:
        return self.settings.s3_enabled

    def healthy(self) -> bool:
        return http_ok(f"http://{self.settings.host}:{self.settings.s3_port}/minio/health/ready") is not None

    def after_start(self) -> None:
        storage.ensure_buckets(self.settings)


class MaintenanceScheduler(Service):
    """`flowlake maintain --schedule`: the maintenance batch job on each table's cron schedule, with
    its metrics for Prometheus."""

    @property
    def port(self) -> int:
        return self.settings.maintenance_metrics_port

    def command(self) -> tuple[list[str], dict[str, str]]:
        cli = Path(sys.executable).parent / "flowlake"
        return [str(cli), "maintain", "--schedule"], self.base_env()

    @property
    def required(self) -> bool:
        return self.settings.maintenance_enabled

    def healthy(self) -> bool:
        return http_ok(f"http://{self.settings.host}:{self.settings.maintenance_metrics_port}/metrics") is not None


class LagExporter(Service):
    """`flowlake exporter`: Kafka consumer lag per group and partition, from the broker, for Prometheus."""

    @property
    def port(self) -> int:
        return self.settings.exporter_port

    def prepare(self) -> None:
        if kafka_security.enabled(self.settings):
            kafka_security.ensure_passwords(self.settings)  # its principal's, before it starts

    def command(self) -> tuple[list[str], dict[str, str]]:
        cli = Path(sys.executable).parent / "flowlake"
        return [str(cli), "exporter"], self.base_env()

    def healthy(self) -> bool:
        # A scrape asks Kafka, Flink and PostgreSQL: Prometheus's timeout (10 s), not the 2 s of a plain probe.
        response = http_ok(f"http://{self.settings.host}:{self.settings.exporter_port}/metrics", timeout=10)
        return response is not None and "flowlake_kafka_exporter_up 1.0" in response.text


def all_services(settings: Settings, runtime: Runtime, every: bool = False) -> list[Service]:
    """In start order; stopped in reverse. Optional services (Pulsar, the maintenance scheduler) only
    when enabled, or with `every` (what `down` and `status` look at, so that nothing started is left
    running)."""
    pg_user = "postgres" if os.geteuid() == 0 else None
    optional: list[Service] = [Pulsar("pulsar", settings, runtime)] if settings.pulsar_wanted or every else []
    scheduler: list[Service] = ([MaintenanceScheduler("maintenance", settings, runtime)]
                                if settings.maintenance_enabled or every else [])
    object_store: list[Service] = [ObjectStore("s3", settings, runtime)] if settings.s3_enabled or every else []
    return [
        Postgres("postgres", settings, runtime, user=pg_user),
        *object_store,
        Kafka("kafka", settings, runtime),
        *optional,
        FlinkProcess("flink-jobmanager", settings, runtime),
        FlinkProcess("flink-taskmanager", settings, runtime),
        Trino("trino", settings, runtime),
        AlertReceiver("alert-receiver", settings, runtime),
        Alertmanager("alertmanager", settings, runtime),
        Prometheus("prometheus", settings, runtime),
        LagExporter("exporter", settings, runtime),
        *scheduler,
    ]


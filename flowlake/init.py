"""`flowlake init`: prepare services that flowlake did not start (docker-compose, Kubernetes, existing
clusters) the way `flowlake up` prepares its own: the buckets of s3:// locations, the Iceberg catalog
(its JDBC tables, namespaces and every table), the Kafka topics, and on request a Trino configuration
directory rendered from the same templates as the local Trino's, and Alertmanager's configuration from the
alert settings (receivers, SMTP: secrets from the environment)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console

from flowlake import trino_security as security
from flowlake.clients import storage
from flowlake.clients.kafka import ensure_stack_topics
from flowlake.config import Settings
from flowlake.stack.services import write_trino_etc

console = Console(stderr=True)


def write_trino_container_etc(settings: Settings, etc: Path, owner: tuple[int, int] | None = None) -> None:
    """Trino's etc dir for a container that mounts it at the same path: its TLS keystore inside it,
    the node data in the image's /data/trino; files owned by the container's user when given."""
    security.ensure_certificate(settings)
    keystore = etc / "tls" / "server.pem"
    keystore.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(security.keystore_file(settings), keystore)
    keystore.chmod(0o600)
    write_trino_etc(settings, etc, Path("/data/trino"), keystore)
    if owner is not None:
        for path in [etc, *etc.rglob("*")]:
            os.chown(path, *owner)


def write_alertmanager_config(settings: Settings, etc: Path, owner: tuple[int, int] | None = None) -> Path:
    import yaml

    from flowlake.alerts import alertmanager_config

    etc.mkdir(parents=True, exist_ok=True)
    path = etc / "alertmanager.yml"
    path.write_text(yaml.safe_dump(alertmanager_config(settings), sort_keys=False))
    path.chmod(0o600)  # may hold the Slack URL and the SMTP password
    if owner is not None:
        os.chown(path, *owner)
    return path


def init(settings: Settings, trino_etc: Path | None = None, owner: tuple[int, int] | None = None,
         alertmanager_etc: Path | None = None, alertmanager_owner: tuple[int, int] | None = None) -> None:
    from flowlake.catalog import ensure_catalog

    if settings.uses_s3:
        console.print(f"[bold]==>[/bold] buckets: {', '.join(storage.ensure_buckets(settings))}")
    console.print(f"[bold]==>[/bold] Iceberg catalog {settings.catalog_name} at {settings.catalog_jdbc_url}, "
                  f"warehouse {settings.warehouse_uri}")
    ensure_catalog(settings)
    console.print(f"[bold]==>[/bold] Kafka topics at {settings.kafka_bootstrap}: "
                  f"{', '.join(ensure_stack_topics(settings))}")
    if trino_etc is not None:
        console.print(f"[bold]==>[/bold] Trino configuration in {trino_etc}")
        write_trino_container_etc(settings, trino_etc, owner)
    if alertmanager_etc is not None:
        path = write_alertmanager_config(settings, alertmanager_etc, alertmanager_owner)
        console.print(f"[bold]==>[/bold] Alertmanager configuration in {path}")
    console.print("[green]initialised[/green]")

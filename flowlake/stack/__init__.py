"""`flowlake up | down | status`: the local stack as plain processes, health-checked and idempotent."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from rich.console import Console

from flowlake.config import Settings
from flowlake.errors import ServiceUnavailable
from flowlake.stack.process import ManagedProcess
from flowlake.stack.runtime import Runtime
from flowlake.stack.services import ObjectStore, Postgres, Service, all_services

console = Console(stderr=True)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    healthy: bool
    port: int
    auth: str = ""


def _process(service: Service) -> ManagedProcess:
    s = service.settings
    return ManagedProcess(service.name, s.run_dir, s.log_dir)


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _start(service: Service) -> bool:
    """Start the service unless it runs already; True when a process was started."""
    proc = _process(service)
    if proc.process() is not None:
        return False
    if service.owns_port and _port_taken(service.settings.host, service.port):
        if service.healthy():
            raise ServiceUnavailable(
                f"{service.name} answers on port {service.port} but was not started from "
                f"{service.settings.data_dir}: stop the other stack (`flowlake down` with its "
                f"FLOWLAKE_DATA_DIR), or use other ports")
        raise ServiceUnavailable(
            f"port {service.port} for {service.name} is taken by another process: stop it, or set "
            f"its FLOWLAKE_..._PORT setting (flowlake/config.py lists them) to a free port")
    service.home.mkdir(parents=True, exist_ok=True)
    service.prepare()
    cmd, env = service.command()
    proc.start(cmd, env, cwd=service.home, user=service.user)
    return True


def _wait_healthy(services: list[Service], timeout: float) -> None:
    pending = list(services)
    deadline = time.monotonic() + timeout
    while pending:
        for service in list(pending):
            if service.healthy():
                console.print(f"  [green]✓[/green] {service.name} healthy (port {service.port})")
                service.after_start()
                pending.remove(service)
            elif _process(service).exited_early():
                raise ServiceUnavailable(
                    f"{service.name} exited during start-up; its log {_process(service).log_file} ends:\n"
                    f"{_process(service).log_tail()}")
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            log_dir = pending[0].settings.log_dir
            raise ServiceUnavailable(f"{names} not healthy after {timeout:.0f}s: see the logs in {log_dir}")
        if pending:
            time.sleep(1)


def start_service(service: Service, timeout: float) -> None:
    """Start one service on its own (a second Trino on other ports, say) and wait until it is healthy."""
    _start(service)
    _wait_healthy([service], timeout)


def stop_service(service: Service) -> None:
    _process(service).stop()


def up(settings: Settings) -> None:
    from flowlake.catalog import ensure_catalog  # needs PostgreSQL up, so imported late

    runtime = Runtime(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = all_services(settings, runtime)
    # The catalog tables must exist before Trino or Flink touch them, so PostgreSQL (and the object
    # store of an s3:// warehouse) come first.
    first: list[Service] = [s for s in services if isinstance(s, Postgres | ObjectStore)]
    rest = [s for s in services if s not in first]
    started_any = False
    console.print(f"[bold]==>[/bold] starting the local stack in {settings.data_dir}")
    for storage_service in first:
        started_any |= _start(storage_service)
    _wait_healthy(first, settings.start_timeout_seconds)
    ensure_catalog(settings)
    for service in rest:
        started_any |= _start(service)
    _wait_healthy(rest, settings.start_timeout_seconds)
    from flowlake.views import SCHEMA, ensure_views

    created = ensure_views(settings)  # a fresh catalog: the views SQL users read
    if created:
        console.print(f"  created the {len(created)} views of {settings.catalog_name}.{SCHEMA}")
    if not started_any:
        console.print("  everything was already running")
    pulsar = f", Pulsar {settings.pulsar_service_url}" if settings.pulsar_wanted else ""
    s3 = f", S3 {settings.s3_endpoint_url}" if settings.s3_enabled else ""
    console.print(f"[green]stack up[/green]: Flink UI {settings.flink_rest_url}, Trino {settings.trino_url}, "
                  f"Prometheus {settings.prometheus_url}, Alertmanager {settings.alertmanager_url}, "
                  f"Kafka {settings.kafka_bootstrap}{pulsar}{s3}; "
                  f"warehouse {settings.warehouse_uri}")


def down(settings: Settings) -> None:
    runtime = Runtime(settings)
    for service in reversed(all_services(settings, runtime, every=True)):
        proc = _process(service)
        if proc.process() is not None:
            console.print(f"  stopping {service.name}")
        proc.stop()
    console.print("[green]stack down[/green]")


def status(settings: Settings) -> list[ServiceStatus]:
    runtime = Runtime(settings)
    result = []
    for service in all_services(settings, runtime, every=True):
        proc = _process(service).process()
        if proc is None and not service.required:
            continue  # an optional service that is not running: nothing to report
        result.append(ServiceStatus(service.name, proc.pid if proc else None,
                                    proc is not None and service.healthy(), service.port, service.auth))
    return result

"""The doors that are locked, tried from outside on the session's stack: the catalog's PostgreSQL refuses
every client without the catalog user's password, keeps that user to its own database, and lets the superuser
in by its socket only; the monitoring services listen on this machine alone."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from flowlake import stack
from flowlake.config import Settings
from flowlake.stack.services import PG_SUPERUSER

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
    password = s.catalog_password.get_secret_value()
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
        assert "no pg_hba.conf entry" in refusal(s, PG_SUPERUSER, database, s.catalog_password.get_secret_value())
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

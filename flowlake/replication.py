"""The cdc job's replication slots, managed by flowlake as its replication user: made on `flowlake submit cdc`,
listed with the WAL each holds back (`flowlake status`, the exporter's metrics), dropped on `flowlake stop cdc
--drop-slot`. A slot keeps every WAL segment its reader has not confirmed: a slot whose job is gone fills the
database's disk, which is why its retained WAL is a metric with an alert."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flowlake.config import Settings
from flowlake.errors import FlowlakeError, ServiceUnavailable

# The slots of the captured database; restart_lsn is how far back the server keeps WAL for the slot.
SLOTS_SQL = """
SELECT slot_name, plugin, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
       confirmed_flush_lsn::text
FROM pg_replication_slots
WHERE database = current_database() AND slot_type = 'logical'
ORDER BY slot_name
"""


class SlotInUse(FlowlakeError):
    pass


@dataclass(frozen=True)
class Slot:
    name: str
    plugin: str
    active: bool  # a reader (the running job) is attached
    retained_wal_bytes: int
    confirmed_flush_lsn: str | None


def connect(settings: Settings, user: str = "", password: str = "") -> Any:
    """The captured database over TCP, as the shop's application user unless told otherwise."""
    import psycopg2

    host = settings.postgres_host or settings.host
    try:
        return psycopg2.connect(host=host, port=settings.postgres_port, dbname=settings.cdc_database,
                                user=user or settings.shop_user, password=password or settings.shop_secret(),
                                connect_timeout=5)
    except psycopg2.OperationalError as error:
        refused = "password authentication failed" in str(error) or "no pg_hba.conf entry" in str(error)
        fix = ("its users and passwords are made by `flowlake up` on a PostgreSQL that flowlake set up with the "
               "superuser kept apart: see the warning `flowlake up` prints and docs/security.md (\"PostgreSQL\")"
               if refused else "run `flowlake up`")
        raise ServiceUnavailable(f"the {settings.cdc_database} database is not reachable at {host}:"
                                 f"{settings.postgres_port} ({str(error).strip()}): {fix}") from error


def _connect(settings: Settings) -> Any:
    conn = connect(settings, settings.cdc_user, settings.cdc_secret())
    conn.autocommit = True
    return conn


def slots(settings: Settings) -> list[Slot]:
    conn = _connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(SLOTS_SQL)
            return [Slot(name, plugin, bool(active), int(retained or 0), lsn)
                    for name, plugin, active, retained, lsn in cur.fetchall()]
    finally:
        conn.close()


def ensure_slot(settings: Settings, name: str) -> bool:
    """The job's logical slot (pgoutput), made now unless it exists; True if it was made. Made before the job
    starts, it holds the WAL from the submission on, and the job's first start finds it."""
    conn = _connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT plugin FROM pg_replication_slots WHERE slot_name = %s", (name,))
            found = cur.fetchone()
            if found is not None:
                if found[0] != "pgoutput":
                    raise FlowlakeError(f"replication slot {name} decodes with {found[0]}, the cdc job reads "
                                        "pgoutput: drop it or name another slot (FLOWLAKE_CDC_SLOT)")
                return False
            cur.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
            return True
    finally:
        conn.close()


def drop_slot(settings: Settings, name: str, wait_seconds: float = 15.0) -> bool:
    """Drop the slot (its retained WAL is freed); True if there was one. A slot a reader still holds after
    `wait_seconds` (a stopped job's connection takes a moment to close) is refused."""
    conn = _connect(settings)
    deadline = time.monotonic() + wait_seconds
    try:
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (name,))
                found = cur.fetchone()
                if found is None:
                    return False
                if not found[0] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            if found[0]:
                raise SlotInUse(f"replication slot {name} is in use by a running reader: stop the cdc job first "
                                "(`flowlake stop cdc --drop-slot` does both)")
            cur.execute("SELECT pg_drop_replication_slot(%s)", (name,))
            return True
    finally:
        conn.close()

"""Change data capture on the real stack: the shop database in the stack's PostgreSQL (logical WAL), the cdc job
on the session cluster, Iceberg through Trino. Rows made before the job starts come by its initial snapshot, the
inserts, updates and deletes made while it runs by the WAL; silver must then equal the source table by table,
row by row, PII hashed with the stack's key, and bronze must hold each change of the WAL once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg2
import pytest

from flowlake import shop
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.keys import pii_hash_key
from iceberg import registry
from udfs.masking import Policy, mask_value

from .conftest import wait_until

pytestmark = pytest.mark.integration


def _superuser(settings: Settings, database: str) -> Any:
    conn = psycopg2.connect(host=str(settings.data_dir / "postgres" / "sock"), port=settings.postgres_port,
                            dbname=database, user="postgres")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def cdc_job(local_stack: Settings) -> Iterator[str]:
    settings = local_stack
    slot = f"it_cdc_{uuid.uuid4().hex[:8]}"
    shop.generate_changes(settings, 150, seed=31, progress=False)  # before the job: its initial snapshot
    job_id = submit(settings, "cdc", ["--slot", slot, "--job-name", f"cdc-{slot}"])
    rest = FlinkRest(settings)
    rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
    yield job_id
    rest.cancel(job_id)
    rest.wait_for_state(job_id, {"CANCELED"}, timeout=60)
    with _superuser(settings, settings.cdc_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                    (slot,))


def _utc(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def expected_rows(settings: Settings, table: registry.Table) -> list[tuple[Any, ...]]:
    """The source table now, each PII column hashed as the job hashes it."""
    key = pii_hash_key(settings).encode()
    masks = {column: (entity, Policy(policy)) for column, entity, policy in table.masked}
    columns = table.column_names()[:-3]
    rows = []
    for row in shop.current_rows(settings, table.name, columns):
        rows.append(tuple(mask_value(value, *masks[name], key) if name in masks and value is not None
                          else _utc(value.strip() if name == "country" and value else value)
                          for name, value in zip(columns, row, strict=True)))
    return sorted(rows)


def silver_rows(settings: Settings, table: registry.Table) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{name}"' for name in table.column_names()[:-3])
    _, rows = query(settings, f"SELECT {columns} FROM lakehouse.{table.identifier}")
    return sorted(tuple(_utc(value) for value in row) for row in rows)


def test_snapshot_and_changes_reach_silver_exactly_and_bronze_once(local_stack: Settings, cdc_job: str) -> None:
    settings = local_stack

    def silver_equals_source() -> bool:
        return all(silver_rows(settings, table) == expected_rows(settings, table)
                   for table in registry.CAPTURED.values())

    # The snapshot first (changes made while it reads would come as its rows, not as changes), then the WAL.
    wait_until(silver_equals_source, timeout=120, interval=3, what="the snapshot in silver")
    made = shop.generate_changes(settings, 400, seed=32, progress=False)
    assert made["insert"] and made["update"] and made["delete"]
    wait_until(silver_equals_source, timeout=120, interval=3, what="silver equal to the shop database")
    customers = silver_rows(settings, registry.SILVER_CUSTOMERS)
    assert len(customers) > 20 and not any("@example" in str(row) for row in customers)  # hashed, not raw

    # Bronze: every change of the WAL exactly once (the snapshot rows are checked through silver).
    def bronze() -> list[list[Any]]:
        _, rows = query(settings, "SELECT source_table, operation, row_key, lsn, before, after "
                                  "FROM lakehouse.bronze.cdc_changes")
        return rows if {"r", "c", "u", "d"} <= {row[1] for row in rows} else []

    changes = wait_until(bronze, timeout=30, what="every kind of change in bronze")  # committed with silver
    stream = Counter((t, op, key, lsn, before, after) for t, op, key, lsn, before, after in changes if op != "r")
    assert stream and max(stream.values()) == 1, stream.most_common(3)

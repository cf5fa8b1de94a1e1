"""Change data capture on the real stack: the shop database in the stack's PostgreSQL (logical WAL), the cdc job
on the session cluster, Iceberg through Trino. Rows made before the job starts come by its initial snapshot, the
inserts, updates and deletes made while it runs by the WAL; silver must then equal the source table by table,
row by row, PII hashed with the stack's key, and bronze must hold each change of the WAL once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import requests

from flink_jobs.registry import JOBS
from flowlake import replication, shop
from flowlake.capture import silver_rows
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.maintain import run_once
from iceberg import registry
from tests.promql import rules, series_parts

from .capture import assert_each_change_once, bronze_changes, silver_equals_source, wait_for_silver_equal_to_source
from .conftest import wait_until

pytestmark = pytest.mark.integration
FLOWLAKE = str(Path(sys.executable).parent / "flowlake")


@pytest.fixture(scope="module")
def cdc_job(local_stack: Settings) -> Iterator[str]:
    """The cdc job under its registered name and slot (the only one of the session); the module's last test
    stops it as a user would, the teardown makes sure."""
    settings = local_stack
    shop.generate_changes(settings, 150, seed=31, progress=False)  # before the job: its initial snapshot
    job_id = submit(settings, "cdc", [])
    rest = FlinkRest(settings)
    rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)
    yield job_id
    running = rest.running_job(JOBS["cdc"].pipeline_name)  # a later test resubmits it
    if running:
        rest.cancel(running)
        rest.wait_for_state(running, {"CANCELED"}, timeout=60)
    replication.drop_slot(settings, settings.cdc_slot)


def test_snapshot_and_changes_reach_silver_exactly_and_bronze_once(local_stack: Settings, cdc_job: str) -> None:
    settings = local_stack
    # The snapshot first (changes made while it reads would come as its rows, not as changes), then the WAL.
    wait_for_silver_equal_to_source(settings, 120, "the snapshot in silver")
    made = shop.generate_changes(settings, 400, seed=32, progress=False)
    assert made["insert"] and made["update"] and made["delete"]
    wait_for_silver_equal_to_source(settings, 120, "silver after the changes")
    verified = subprocess.run([FLOWLAKE, "cdc", "verify"], capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0 and "silver.customers equals customers" in verified.stderr, verified.stderr
    customers = silver_rows(settings, registry.SILVER_CUSTOMERS)
    assert len(customers) > 20 and not any("@example" in str(row) for row in customers)  # hashed, not raw
    # Committed with silver's rows, at the same checkpoint.
    assert_each_change_once(wait_until(partial(bronze_changes, settings), timeout=30, what="every kind in bronze"))
    # Every order with its customer, as an analyst reads them (the view `flowlake up` made).
    _, [[orders, with_customer]] = query(settings, "SELECT count(*), count(customer_since) "
                                                   "FROM lakehouse.analytics.customer_orders", user="analyst")
    _, [[expected, expected_with]] = query(settings, "SELECT count(*), count_if(user_id IN (SELECT user_id FROM "
                                                     "lakehouse.silver.customers)) FROM lakehouse.silver.orders")
    assert (orders, with_customer) == (expected, expected_with)


def test_an_added_column_reaches_bronze_at_once_and_silver_keeps_its_declared_columns(local_stack: Settings,
                                                                                      cdc_job: str) -> None:
    """As documented (README): a column added in the source is in bronze's images from its first change on; silver
    takes it once the registry declares it (and the job is resubmitted), until then it goes on unchanged."""
    settings = local_stack
    conn = replication.connect(settings)  # as the shop's owner, as its application's migration would
    with conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE customers ADD COLUMN IF NOT EXISTS loyalty_tier text")
        cur.execute("UPDATE customers SET loyalty_tier = 'gold', updated_at = now() WHERE user_id IN "
                    "(SELECT user_id FROM customers ORDER BY user_id LIMIT 5) RETURNING user_id")
        tiered = {row[0] for row in cur.fetchall()}
    conn.close()
    shop.generate_changes(settings, 50, seed=33, progress=False)
    wait_for_silver_equal_to_source(settings, 120, "silver after the new column")

    def tiered_in_bronze() -> set[str]:
        _, rows = query(settings, "SELECT user_id FROM lakehouse.bronze.cdc_changes WHERE operation = 'u' AND "
                                  "json_extract_scalar(\"after\", '$.loyalty_tier') = 'gold'")
        return {row[0] for row in rows}

    assert wait_until(tiered_in_bronze, timeout=30, what="the new column in bronze") == tiered
    assert FlinkRest(settings).job(cdc_job)["state"] == "RUNNING"
    assert FlinkRest(settings).checkpoints(cdc_job)["counts"]["restored"] == 0  # no restart on the way


def _delete_files(settings: Settings, table: registry.Table) -> int:
    _, [[count]] = query(settings, f'SELECT count(*) FROM lakehouse.silver."{table.name}$files" WHERE content <> 0')
    return int(count)


def test_compaction_applies_the_deletes_and_drops_the_delete_files(local_stack: Settings, cdc_job: str) -> None:
    """Every update and delete of the stream left an equality delete (and a position delete within a checkpoint);
    compaction beside the running job rewrites the files with them applied and drops them, contents unchanged."""
    settings = local_stack
    tables = list(registry.CAPTURED.values())
    wait_for_silver_equal_to_source(settings, 120, "silver before compaction")
    before = {table.name: silver_rows(settings, table) for table in tables}
    deletes = {table.name: _delete_files(settings, table) for table in tables}
    assert deletes["customers"] and deletes["order_status"], deletes
    reports = {r["table"]: r for r in run_once(settings, [t.identifier for t in tables], steps=("compact",))}
    assert not [r["errors"] for r in reports.values() if r.get("errors")]
    for table in tables:
        report = reports[table.identifier]
        assert report["delete_files_before"] == deletes[table.name], report
        assert report["delete_files_after"] == 0 == _delete_files(settings, table), report
        assert silver_rows(settings, table) == before[table.name]
    assert reports["silver.customers"]["files_rewritten"] >= 2 and reports["silver.customers"]["files_added"] >= 1
    assert silver_equals_source(settings)


def _referenced_files_holding(settings: Settings, table: str, user_id: str) -> list[str]:
    """The files (data and delete) the table's current snapshot references that hold the user id anywhere."""
    import pyarrow.parquet as pq

    namespace, name = table.split(".")
    _, paths = query(settings, f'SELECT file_path FROM lakehouse.{namespace}."{name}$files"')
    return [path for (path,) in paths if user_id in str(pq.read_table(path.removeprefix("file://")).to_pylist())]


def test_a_customer_deleted_at_the_source_then_erased_is_in_no_file(local_stack: Settings, cdc_job: str) -> None:
    """The DELETE at the source reaches silver as an equality delete, which hides the row but leaves it (and the
    key) in files; erasure then removes the person's changes from bronze and every file of silver that held them."""
    settings = local_stack
    ordered = {row[0] for row in shop.current_rows(settings, "order_status", ["user_id"])}
    customers = [row[0] for row in shop.current_rows(settings, "customers", ["user_id"])]
    # Not the newest customer: the generator numbers new customers above the highest id in use.
    victim = sorted(ordered & set(customers[:-1]))[0]
    conn = replication.connect(settings)  # as the shop's owner
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE customers SET phone = '+4930111111', updated_at = now() WHERE user_id = %s", (victim,))
    wait_for_silver_equal_to_source(settings, 120, "the update in silver")  # in a file of its own
    with conn, conn.cursor() as cur:  # the customer leaves with their orders
        cur.execute("DELETE FROM order_status WHERE user_id = %s", (victim,))
        cur.execute("DELETE FROM customers WHERE user_id = %s", (victim,))
    conn.close()
    wait_for_silver_equal_to_source(settings, 120, "the deletes in silver")
    tables = ["bronze.cdc_changes", "silver.customers", "silver.order_status"]
    _, [[changes]] = query(settings, f"SELECT count(*) FROM lakehouse.bronze.cdc_changes WHERE user_id = '{victim}'")
    assert changes >= 3
    assert _referenced_files_holding(settings, "silver.customers", victim)  # hidden, not gone

    # Erased while the shop goes on changing (the job's commits let the old snapshots expire).
    stop = threading.Event()
    changing = threading.Thread(target=shop.generate_changes, daemon=True,
                                kwargs={"settings": settings, "count": 10_000, "rate": 5, "seed": 34,
                                        "progress": False, "stop": stop})
    changing.start()
    try:
        erased = subprocess.run([FLOWLAKE, "privacy", "erase", "--user", victim, "--yes"], capture_output=True,
                                text=True, timeout=600)
    finally:
        stop.set()
        changing.join()
    assert erased.returncode == 0, (erased.stdout[-2000:], erased.stderr[-3000:])
    for table in tables:
        assert not _referenced_files_holding(settings, table, victim), table
        _, snapshots = query(settings, f'SELECT snapshot_id FROM lakehouse.{table.split(".")[0]}.'
                                       f'"{table.split(".")[1]}$snapshots"')
        for (snapshot,) in snapshots:  # nor through time travel
            _, [[rows]] = query(settings, f"SELECT count(*) FROM lakehouse.{table} FOR VERSION AS OF {snapshot} "
                                          f"WHERE user_id = '{victim}'")
            assert rows == 0, (table, snapshot)
    wait_for_silver_equal_to_source(settings, 120, "silver after the erasure")


def test_stopped_with_a_savepoint_and_resubmitted_from_it_the_job_goes_on_in_the_wal(local_stack: Settings,
                                                                                    cdc_job: str) -> None:
    """A restored run must not empty silver (only a run from no state does, before its snapshot): the changes made
    while it was stopped come from the slot, every other row stays."""
    settings = local_stack
    wait_for_silver_equal_to_source(settings, 120, "silver before the stop")
    _, [[snapshot_reads]] = query(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes WHERE operation = 'r'")
    stopped = subprocess.run([FLOWLAKE, "stop", "cdc"], capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    savepoint = stopped.stdout.strip().splitlines()[-1]
    shop.generate_changes(settings, 60, seed=36, progress=False)  # kept in the slot meanwhile
    resumed = submit(settings, "cdc", [], from_savepoint=savepoint)
    FlinkRest(settings).wait_for_state(resumed, {"RUNNING"}, timeout=180)
    wait_for_silver_equal_to_source(settings, 120, "silver after the resubmission")
    _, [[reads]] = query(settings, "SELECT count(*) FROM lakehouse.bronze.cdc_changes WHERE operation = 'r'")
    assert reads == snapshot_reads  # no snapshot again


def test_the_slot_is_made_on_submit_and_reported_with_its_reader(local_stack: Settings, cdc_job: str) -> None:
    settings = local_stack
    [slot] = [slot for slot in replication.slots(settings) if slot.name == settings.cdc_slot]
    assert slot.plugin == "pgoutput" and slot.active and slot.retained_wal_bytes >= 0
    status = subprocess.run([FLOWLAKE, "status", "--wide"], capture_output=True, text=True, timeout=120)
    assert settings.cdc_slot in status.stdout and "attached" in status.stdout, status.stdout[-2000:]

    def exported() -> str:
        text = requests.get(f"http://{settings.host}:{settings.exporter_port}/metrics", timeout=10).text
        return text if f'flowlake_cdc_slot_active{{slot="{settings.cdc_slot}"}} 1.0' in text else ""

    metrics = wait_until(exported, timeout=30, what="the slot in the exporter's metrics")
    assert f'flowlake_cdc_slot_retained_wal_bytes{{slot="{settings.cdc_slot}"}}' in metrics
    assert "flowlake_cdc_slots_read_ok 1.0" in metrics
    # And in Prometheus: every operand of the slots' alerts has data (test_observability leaves them to this test).
    operands = [part for rule in rules() if rule.get("alert", "").startswith("Cdc")
                for part in series_parts(rule["expr"])]
    assert len(operands) >= 2

    def in_prometheus() -> list[str]:
        return [expr for expr in operands if not requests.get(
            f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()["data"]["result"]]

    wait_until(lambda: not in_prometheus(), timeout=60, interval=5, what="the slot alerts' series in Prometheus")


def test_stop_with_drop_slot_cancels_the_job_and_frees_the_wal(local_stack: Settings, cdc_job: str) -> None:
    settings = local_stack
    stopped = subprocess.run([FLOWLAKE, "stop", "cdc", "--drop-slot"], capture_output=True, text=True, timeout=180)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert f"dropped the replication slot {settings.cdc_slot}" in stopped.stderr
    assert FlinkRest(settings).running_job(JOBS["cdc"].pipeline_name) is None
    assert settings.cdc_slot not in {slot.name for slot in replication.slots(settings)}
    # Nothing reads the database now: a change there is a difference `flowlake cdc verify` reports.
    shop.generate_changes(settings, 20, seed=35, progress=False)
    verified = subprocess.run([FLOWLAKE, "cdc", "verify"], capture_output=True, text=True, timeout=120)
    assert verified.returncode == 1 and "differs from" in verified.stderr, verified.stderr

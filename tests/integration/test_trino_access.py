"""Who may read and write what through the real Trino (HTTPS, password file, file-based rules plus
flowlake's table-procedure rule), over the real tables: analysts read silver, gold and the views and
nothing else, write nothing, and find no PII in anything they can read; engineers may do all of it.

Produces its own events (with PII, and bad records) through the session's medallion job, so every
layer has rows whatever ran before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from flowlake.clients.trino import AuthenticationFailed, QueryRejected, query
from flowlake.config import Settings
from flowlake.generate import Mix, generate
from flowlake.keys import password_for
from flowlake.stack.runtime import Runtime
from flowlake.trino_security import certificate_file
from udfs.pii import detect

from .conftest import IngestJob, wait_until
from .lakehouse import bronze_count, silver_ids

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ANALYST_SCHEMAS = {"silver", "gold", "analytics"}
RAW_SCHEMAS = {"bronze", "quarantine"}
FLOWLAKE = str(Path(sys.executable).parent / "flowlake")


def as_engineer(settings: Settings, sql: str) -> list[list[Any]]:
    return query(settings, sql, user="engineer")[1]


def as_analyst(settings: Settings, sql: str) -> list[list[Any]]:
    return query(settings, sql, user="analyst")[1]


def denied(settings: Settings, sql: str, user: str = "analyst") -> str:
    with pytest.raises(QueryRejected) as rejected:
        query(settings, sql, user=user)
    assert rejected.value.error_name == "PERMISSION_DENIED", str(rejected.value)
    return str(rejected.value)


@pytest.fixture(scope="module")
def lake(local_stack: Settings, ingest_job: IngestJob) -> list[str]:
    """Every lakehouse table and view (schema.name), once this module's events are in bronze and silver."""
    settings, job = local_stack, ingest_job
    before = bronze_count(settings, job.topic)
    batch: list[tuple[str, bytes, str]] = []
    generate(settings, 1_000, None, None, topic=job.topic, seed=81, mix=Mix(bad=0.05), clock=job.clock, keep=batch)
    wait_until(lambda: bronze_count(settings, job.topic) >= before + len(batch), timeout=300, interval=3,
               what="this module's events in bronze")
    valid = {json.loads(payload)["event_id"] for _, payload, label in batch if label == "valid"}
    wait_until(lambda: valid <= set(silver_ids(settings)), timeout=300, interval=3,
               what="this module's events in silver")
    created = subprocess.run([FLOWLAKE, "views", "create"], capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    # A row in quality.check_results (engineers only), whether or not test_quality ran before.
    checked = subprocess.run([FLOWLAKE, "check", "--table", "silver.orders"], capture_output=True, text=True,
                             timeout=300)
    assert checked.returncode in (0, 1), checked.stderr  # 1: a check failed, which is not this test's concern
    rows = as_engineer(settings, "SELECT table_schema, table_name FROM lakehouse.information_schema.tables "
                                 "WHERE table_schema <> 'information_schema'")
    return sorted(f"{schema}.{name}" for schema, name in rows)


def test_analyst_reads_silver_gold_and_views_and_nothing_else(local_stack: Settings, lake: list[str]) -> None:
    settings = local_stack
    assert {name.split(".")[0] for name in lake} >= ANALYST_SCHEMAS | RAW_SCHEMAS
    for name in lake:
        count_sql = f"SELECT count(*) FROM lakehouse.{name}"
        if name.split(".")[0] in ANALYST_SCHEMAS:  # the same rows (the job may commit in between: retried)
            wait_until(lambda sql=count_sql: as_analyst(settings, sql) == as_engineer(settings, sql), timeout=60,
                       interval=2, what=f"the analyst sees all of {name}")
        else:
            assert "Cannot select from table" in denied(settings, count_sql), name
            assert as_engineer(settings, count_sql)[0][0] > 0, name
    # Not through the metadata tables either, and the raw schemas are not even listed.
    denied(settings, 'SELECT count(*) FROM lakehouse.bronze."events$snapshots"')
    denied(settings, 'SELECT * FROM lakehouse.quarantine."events$files"')
    schemas = {r[0] for r in as_analyst(settings, "SHOW SCHEMAS FROM lakehouse")}
    assert schemas & RAW_SCHEMAS == set() and ANALYST_SCHEMAS <= schemas


def test_analyst_writes_nothing_engineer_may(local_stack: Settings, lake: list[str]) -> None:
    settings = local_stack
    # The same statements for both: denied at analysis for the analyst; for the engineer they run
    # (and change nothing: no rows match, nothing is old enough to expire).
    statements = [
        *(f"INSERT INTO lakehouse.{name} SELECT * FROM lakehouse.{name} WHERE false"
          for name in ("bronze.events", "quarantine.events", "silver.orders", "gold.revenue_per_minute")),
        "DELETE FROM lakehouse.silver.orders WHERE event_id = 'no-such-event'",
        "UPDATE lakehouse.gold.funnel_hourly SET orders = orders WHERE false",
        "ALTER TABLE lakehouse.silver.orders EXECUTE expire_snapshots(retention_threshold => '3650d')",
        "ALTER TABLE lakehouse.silver.orders EXECUTE remove_orphan_files(retention_threshold => '3650d')",
        "ALTER TABLE lakehouse.gold.funnel_hourly EXECUTE optimize(file_size_threshold => '1kB')",
    ]
    for sql in statements:
        denied(settings, sql)
        query(settings, sql, user="engineer")
    for sql in ["CREATE TABLE lakehouse.gold.analyst_scratch (a integer)",
                "CREATE SCHEMA lakehouse.analyst_scratch",
                "CREATE OR REPLACE VIEW lakehouse.analytics.revenue_daily AS SELECT 1 AS a",
                "DROP TABLE lakehouse.silver.orders",
                "COMMENT ON TABLE lakehouse.silver.orders IS 'mine'",
                "CALL lakehouse.system.rollback_to_snapshot('silver', 'orders', 1)"]:
        denied(settings, sql)
    # An engineer creates, fills and drops a table of their own.
    scratch = "lakehouse.gold.engineer_scratch"
    as_engineer(settings, f"CREATE TABLE {scratch} (a integer)")
    try:
        as_engineer(settings, f"INSERT INTO {scratch} VALUES 1, 2")
        assert as_analyst(settings, f"SELECT sum(a) FROM {scratch}") == [[3]]
        denied(settings, f"DROP TABLE {scratch}")
    finally:
        as_engineer(settings, f"DROP TABLE {scratch}")


def test_nothing_an_analyst_can_read_holds_pii(local_stack: Settings, lake: list[str]) -> None:
    """Every column of every table and view the analyst can see, every row, through the analyst's own
    connection, scanned with flowlake's PII detector; the same detector finds PII in bronze."""
    settings = local_stack
    columns = as_analyst(settings, "SELECT table_schema, table_name, column_name, data_type "
                                   "FROM lakehouse.information_schema.columns "
                                   "WHERE table_schema <> 'information_schema'")
    visible = {f"{schema}.{table}" for schema, table, _, _ in columns}
    assert visible == {name for name in lake if name.split(".")[0] in ANALYST_SCHEMAS}
    scanned, leaks = 0, []
    for table in sorted(visible):
        # Text as is; arrays, maps and rows as their JSON text. Numbers, times and binary ids hold no PII.
        textual = {c: c if kind.startswith(("varchar", "char")) else f"json_format(CAST({c} AS json))"
                   for s, t, c, kind in columns if f"{s}.{t}" == table
                   and any(k in kind for k in ("char", "array", "map", "row"))}
        if not textual:
            continue
        for row in as_analyst(settings, f"SELECT {', '.join(textual.values())} FROM lakehouse.{table}"):
            for column, value in zip(textual, row, strict=True):
                if value is None:
                    continue
                scanned += 1
                if findings := detect(value):
                    leaks.append((table, column, value, [f.entity_type for f in findings]))
    assert scanned > 3_000  # this module alone put ~950 events with 4 or more text fields each in silver
    assert not leaks, leaks[:5]

    # The detector does find the raw PII the analyst is kept from (bronze payloads, as received).
    payloads = as_engineer(settings, "SELECT from_utf8(payload) FROM lakehouse.bronze.events "
                                     "WHERE json_extract_scalar(from_utf8(payload), '$.event_type') = 'order' LIMIT 50")
    assert payloads and all(detect(p[0]) for p in payloads)


def test_passwords_and_transport(local_stack: Settings) -> None:
    settings = local_stack
    with pytest.raises(AuthenticationFailed, match="analyst"):
        query(settings, "SELECT 1", user="analyst", password="not-the-password")
    with pytest.raises(AuthenticationFailed):
        query(settings, "SELECT 1", user="mallory", password=password_for(settings, "engineer"))
    # No queries over plain HTTP, whoever the request claims to be.
    response = requests.post(f"{settings.trino_http_url}/v1/statement", data="SELECT 1",
                             headers={"X-Trino-User": "engineer"}, timeout=10)
    assert response.status_code in (401, 403)
    # The certificate the README tells clients to trust is the one Trino serves.
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{settings.trino_url}/v1/info", verify=str(certificate_file(settings)), timeout=10).ok


def test_flowlake_query_as_either_user(local_stack: Settings, lake: list[str]) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([FLOWLAKE, "query", *args], capture_output=True, text=True, timeout=120)

    ok = run("--user", "analyst", "--format", "json", "SELECT count(*) AS n FROM lakehouse.silver.orders")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["n"] == as_engineer(local_stack, "SELECT count(*) FROM lakehouse.silver.orders")[0][0]
    refused = run("--user", "analyst", "SELECT * FROM lakehouse.quarantine.events")
    assert refused.returncode == 1
    assert "PERMISSION_DENIED" in refused.stderr and "Cannot select from table" in refused.stderr
    assert "For SQL users" in refused.stderr  # the hint
    engineer = run("--format", "csv", "SELECT count(*) AS n FROM lakehouse.quarantine.events")
    assert engineer.returncode == 0 and int(engineer.stdout.splitlines()[1]) > 0


def test_the_trino_cli_connects_as_the_readme_says(local_stack: Settings) -> None:
    """The official Trino CLI with the README's connection details: HTTPS, the PEM certificate as
    trust store, user and password."""
    settings = local_stack
    runtime = Runtime(settings)
    env = {**os.environ, "TRINO_PASSWORD": password_for(settings, "analyst")}
    cmd = [str(runtime.trino_java_home / "bin" / "java"), "-jar", str(runtime.trino_cli_jar),
           "--server", settings.trino_url, "--truststore-path", str(certificate_file(settings)),
           "--user", "analyst", "--password", "--output-format", "CSV_UNQUOTED"]
    ok = subprocess.run([*cmd, "--execute", "SELECT count(*) FROM lakehouse.analytics.revenue_daily"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    views = as_engineer(settings, "SELECT count(*) FROM lakehouse.analytics.revenue_daily")
    assert int(ok.stdout.strip()) == views[0][0]
    refused = subprocess.run([*cmd, "--execute", "SELECT count(*) FROM lakehouse.bronze.events"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode != 0 and "Access Denied" in refused.stderr

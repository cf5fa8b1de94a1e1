"""One catalog, three engines: PyIceberg creates, Flink SQL writes, PyIceberg and Trino read."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from flowlake.catalog import load_catalog
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.trino import query
from flowlake.config import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def probe_table(local_stack: Settings):  # type: ignore[no-untyped-def]
    catalog = load_catalog(local_stack)
    namespace = f"it_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.probe", schema=Schema(
        NestedField(1, "id", LongType(), required=True), NestedField(2, "name", StringType(), required=False)))
    arrow_schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
    table.append(pa.table({"id": [1, 2], "name": ["from-pyiceberg-1", "from-pyiceberg-2"]}, schema=arrow_schema))
    yield namespace
    catalog.purge_table(f"{namespace}.probe")
    catalog.drop_namespace(namespace)


def test_table_created_by_pyiceberg_is_seen_by_trino(local_stack: Settings, probe_table: str) -> None:
    _, rows = query(local_stack, f"SELECT id, name FROM lakehouse.{probe_table}.probe ORDER BY id")
    assert rows == [[1, "from-pyiceberg-1"], [2, "from-pyiceberg-2"]]


def test_flink_sql_writes_rows_that_pyiceberg_and_trino_read(local_stack: Settings, probe_table: str,
                                                             tmp_path: Path) -> None:
    script = tmp_path / "probe.sql"
    # Flink reads the PyIceberg rows (max id) and writes derived rows: it sees the table and its data.
    script.write_text(
        f"INSERT INTO {probe_table}.probe\n"
        f"SELECT id + 10, CONCAT('from-flink-', CAST(id AS STRING)) FROM {probe_table}.probe;\n")
    job_id = submit(local_stack, "sql", ["--script", str(script), "--job-name", f"probe-{probe_table}"])
    FlinkRest(local_stack).wait_for_state(job_id, {"FINISHED"}, timeout=240)

    table = load_catalog(local_stack).load_table(f"{probe_table}.probe")
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": 1, "name": "from-pyiceberg-1"}, {"id": 2, "name": "from-pyiceberg-2"},
                    {"id": 11, "name": "from-flink-1"}, {"id": 12, "name": "from-flink-2"}]
    _, trino_rows = query(local_stack, f"SELECT id, name FROM lakehouse.{probe_table}.probe WHERE id > 10 ORDER BY id")
    assert trino_rows == [[11, "from-flink-1"], [12, "from-flink-2"]]


def test_sql_users_see_table_and_column_comments_in_trino(local_stack: Settings) -> None:
    """The lakehouse tables (created by `flowlake up`) carry their comments into Trino."""
    from iceberg.registry import NAMESPACES
    from iceberg.tables import ALL_TABLES, TABLE_COMMENTS

    schemas = ", ".join(f"'{namespace}'" for namespace in NAMESPACES)
    comments = dict(query(local_stack, "SELECT schema_name || '.' || table_name, comment "
                                       "FROM system.metadata.table_comments WHERE catalog_name = 'lakehouse' "
                                       f"AND schema_name IN ({schemas})")[1])
    assert {spec.identifier: comments.get(spec.identifier) for spec in ALL_TABLES} == TABLE_COMMENTS
    for spec in ALL_TABLES:
        described = {row[0]: row[3] for row in query(local_stack, f"DESCRIBE lakehouse.{spec.identifier}")[1]}
        assert described == {f.name: f.doc for f in spec.schema.fields}, spec.identifier
    create = query(local_stack, "SHOW CREATE TABLE lakehouse.silver.orders")[1][0][0]
    assert f"COMMENT '{TABLE_COMMENTS['silver.orders']}'" in create


def test_query_errors_name_the_problem_and_position(local_stack: Settings) -> None:
    """`flowlake query` against the real Trino: a syntax error points at its position, a missing table
    says so with a hint, and results come out as CSV or JSON lines."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    flowlake = str(Path(sys.executable).parent / "flowlake")
    bad = subprocess.run([flowlake, "query", "SELECT count(*)\nFROM lakehouse.silver.orders WHERE"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "SYNTAX_ERROR" in bad.stderr and "line 2, column" in bad.stderr
    missing = subprocess.run([flowlake, "query", "SELECT * FROM lakehouse.silver.nope"], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1 and "TABLE_NOT_FOUND" in missing.stderr and "flowlake tables" in missing.stderr
    as_json = subprocess.run([flowlake, "query", "--format", "json", "SELECT 1 AS one, 'a' AS two"],
                             capture_output=True, text=True, timeout=120)
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [{"one": 1, "two": "a"}]
    as_csv = subprocess.run([flowlake, "query", "--format", "csv", "SELECT 1 AS one, 'a' AS two"],
                            capture_output=True, text=True, timeout=120)
    assert as_csv.stdout == "one,two\n1,a\n"

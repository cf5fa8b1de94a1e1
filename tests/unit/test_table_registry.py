"""The table registry (iceberg/registry.py) is the one description of every table: the Iceberg specs, the
jobs' statement lists, erasure and maintenance follow it, released tables keep their columns and
partitioning, and a table appended to it appends statements without moving the others."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from flowlake.config import REPO_ROOT
from iceberg import registry
from iceberg.registry import TABLES, Table

# The ingest job's statements as released: the order numbers its operators (savepoints map state by it).
RELEASED_INGEST = ("insert_bronze_events", "insert_quarantine_events", "insert_silver_page_views",
                   "insert_silver_add_to_carts", "insert_silver_orders", "insert_silver_payments",
                   "insert_silver_support_messages", "insert_gold_late_events", "insert_gold_revenue_per_minute",
                   "insert_gold_funnel_hourly", "insert_silver_events_topic", "insert_gold_privacy_requests",
                   "insert_gold_consent", "insert_consent_topic")
RELEASED_SESSIONS = ("insert_gold_sessions", "insert_gold_alerts")
SQL = REPO_ROOT / "sql" / "flink"
# A new event type, as a maintainer would add it (a name no real one has).
APPENDED = registry._silver("test_appended", "test_appended", "Appended by a test.",
                            ("order_id", "string", True, "the order"))


def _without_docs(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_docs(v) for k, v in value.items() if k != "doc"}
    if isinstance(value, list):
        return [_without_docs(v) for v in value]
    return value


def test_released_tables_keep_their_columns_partitioning_and_sort_order() -> None:
    """tests/data/table_schemas.json holds every table as released (field ids, names, types, required).
    A released column keeps all of these: data files already written are read by field id. New columns
    go at the end (ensure_table adds them to existing tables), new tables anywhere in the file."""
    from iceberg.tables import SPECS

    released = json.loads((REPO_ROOT / "tests" / "data" / "table_schemas.json").read_text())
    assert set(released) <= set(SPECS), set(released) - set(SPECS)
    for identifier, table in released.items():
        spec = SPECS[identifier]
        fields = _without_docs(json.loads(spec.schema.model_dump_json())["fields"])
        assert isinstance(fields, list)
        assert fields[:len(table["fields"])] == table["fields"], identifier
        assert json.loads(spec.partition_spec.model_dump_json())["fields"] == table["partition"], identifier
        assert json.loads(spec.sort_order.model_dump_json())["fields"] == table["sort"], identifier


def test_column_types_are_checked() -> None:
    from iceberg.tables import spec

    with pytest.raises(ValueError, match="unknown column type 'varchar'"):
        spec(replace(APPENDED, columns=(("note", "varchar", False, ""),)))


def test_the_jobs_statements_are_the_registrys_tables_in_its_order_released_ones_first() -> None:
    from flink_jobs import ingest, sessions

    assert ingest.INSERTS[:len(RELEASED_INGEST)] == RELEASED_INGEST
    assert sessions.INSERTS[:len(RELEASED_SESSIONS)] == RELEASED_SESSIONS
    written = {t.insert for t in TABLES if t.writer in {registry.INGEST, registry.SESSIONS}}
    assert set(ingest.INSERTS) | set(sessions.INSERTS) == written | {ingest.SILVER_TOPIC_INSERT,
                                                                        ingest.CONSENT_TOPIC_INSERT}


def test_an_appended_table_appends_its_statement_and_reaches_erasure_and_maintenance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flink_jobs import ingest
    from flowlake.maintain import policies
    from flowlake.privacy import erasure_statements

    before = ingest.inserts()
    monkeypatch.setattr(registry, "TABLES", (*TABLES, APPENDED))
    monkeypatch.setattr(registry, "SILVER", (*registry.SILVER, APPENDED))
    assert ingest.inserts() == (*before, "insert_silver_test_appended")
    erased = dict(erasure_statements("U00042", "lakehouse"))
    assert erased["silver.test_appended"] == "DELETE FROM lakehouse.silver.test_appended WHERE user_id = 'U00042'"
    assert "FROM lakehouse.silver.test_appended WHERE user_id = 'U00042'" in erased["gold.late_events"]
    assert "silver.test_appended" in policies()


@pytest.mark.parametrize("table", [t for t in TABLES if t.insert], ids=lambda t: t.identifier)
def test_every_streamed_table_has_its_insert_with_its_own_writer_uid(table: Table) -> None:
    sql = (SQL / f"{table.insert}.sql").read_text()
    uid = table.identifier.replace(".", "-").replace("_", "-")
    assert re.search(rf"INSERT INTO \$\{{catalog_name\}}\.{re.escape(table.identifier)} "
                     rf"/\*\+ OPTIONS\('uid-suffix' = '{uid}'(, '[\w.-]+' = '\w+')*\) \*/", sql), table.insert


def test_writers_are_jobs_of_the_job_registry() -> None:
    from flink_jobs.registry import JOBS

    for table in TABLES:
        assert table.writer in JOBS or table.writer in registry.CLI_WRITERS, table.identifier
        assert bool(table.insert) == (table.writer in JOBS and JOBS[table.writer].streaming), table.identifier


def test_every_event_type_of_the_rules_has_its_silver_table() -> None:
    from udfs.validation import load_rules

    assert list(registry.SILVER_TABLE_OF) == list(load_rules().types)
    assert all(t.namespace == "silver" and t.insert == f"insert_silver_{t.name}" for t in registry.SILVER)


def test_every_table_says_how_a_persons_rows_are_found() -> None:
    """Erasure follows `person`: a table with a user_id column is erased by it, one with raw payloads by
    the payload, and only tables of keyed tokens (the record of requests and erasures) keep theirs."""
    for table in TABLES:
        columns = set(table.column_names())
        if "user_id" in columns:
            assert table.person == registry.BY_USER_ID, table.identifier
        elif "payload" in columns:
            assert table.person == registry.BY_RAW_PAYLOAD, table.identifier
        elif "user_token" in columns:
            assert table.person == registry.KEPT, table.identifier
        elif "event_id" in columns:
            assert table.person == registry.BY_EVENT_ID, table.identifier
        else:
            assert table.person == registry.NO_PERSON, table.identifier


def test_identifiers_are_unique_and_in_known_namespaces() -> None:
    identifiers = [t.identifier for t in TABLES]
    assert len(identifiers) == len(set(identifiers))
    assert {t.namespace for t in TABLES} == set(registry.NAMESPACES)

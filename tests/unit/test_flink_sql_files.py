"""SQL files load with every placeholder filled; the job helpers need no JVM."""

from __future__ import annotations

import pytest

from flink_jobs.common import SQL_DIR, load_sql, split_statements

SOURCE_VALUES = dict(topic="events", bootstrap="127.0.0.1:9092", group_id="g", max_future_seconds=300,
                     allowed_lateness_seconds=30, silver_topic="events.silver", transactional_id_prefix="g-silver")


def test_every_file_the_jobs_name_exists() -> None:
    from flink_jobs import ingest, sessions

    assert {p.stem for p in SQL_DIR.glob("*.sql")} >= {"source_kafka_events", "sink_kafka_silver_events",
                                                       *ingest.VIEWS, *ingest.INSERTS, *sessions.INSERTS}


def test_missing_placeholder_raises() -> None:
    with pytest.raises(KeyError):
        load_sql("source_kafka_events", topic="t")


def test_kafka_source_reads_committed_records_only() -> None:
    sql = load_sql("source_kafka_events", **SOURCE_VALUES)
    assert "'properties.isolation.level' = 'read_committed'" in sql
    assert "${" not in sql


def test_every_sql_file_has_only_known_placeholders() -> None:
    values = dict(catalog_name="lakehouse", jdbc_url="jdbc:postgresql://h/db", jdbc_user="u", jdbc_password="p",
                  warehouse="file:///w", watermark_floor="2026-01-01 00:00:00.000", **SOURCE_VALUES)
    for path in SQL_DIR.glob("*.sql"):
        assert "${" not in load_sql(path.stem, **values)


def test_split_statements() -> None:
    script = "-- a comment\nCREATE TABLE t (a INT);\nINSERT INTO t\nVALUES (1);\nSELECT 1"
    assert split_statements(script) == ["CREATE TABLE t (a INT)", "INSERT INTO t\nVALUES (1)", "SELECT 1"]


def test_every_insert_names_every_column_of_its_table_in_order() -> None:
    """Inserts name their columns: a column added to an existing table goes to the end of its schema
    (additive evolution), where a positional INSERT would put values into the wrong columns."""
    import re

    from flink_jobs import ingest, sessions
    from iceberg.tables import ALL_TABLES

    specs = {spec.identifier: [f.name for f in spec.schema.fields] for spec in ALL_TABLES}
    for insert in ingest.INSERTS + sessions.INSERTS:
        sql = load_sql(insert, catalog_name="lakehouse")
        if "INSERT INTO lakehouse." not in sql:
            assert re.search(r"INSERT INTO \w+\s*\(`\w+`", sql), f"{insert}: no column list"
            continue
        match = re.search(r"INSERT INTO lakehouse\.(\w+\.\w+) /\*\+ OPTIONS\([^)]*\) \*/\s*\(([^)]*)\)", sql)
        assert match, f"{insert}: no column list after the table and its hints"
        columns = [c.strip().strip("`") for c in match.group(2).split(",")]
        assert columns == specs[match.group(1)], insert
        select = sql[match.end():]
        assert select.lstrip().startswith("SELECT"), insert

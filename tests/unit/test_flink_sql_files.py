"""SQL files load with every placeholder filled; the job helpers need no JVM."""

from __future__ import annotations

import pytest

from flink_jobs.common import SQL_DIR, load_sql, split_statements

SOURCE_VALUES = dict(topic="events", bootstrap="127.0.0.1:9092", group_id="g", max_future_seconds=300,
                     allowed_lateness_seconds=30)


def test_every_file_the_ingest_job_names_exists() -> None:
    from flink_jobs.ingest import INSERTS, VIEWS

    assert {p.stem for p in SQL_DIR.glob("*.sql")} >= {"source_kafka_events", *VIEWS, *INSERTS}


def test_missing_placeholder_raises() -> None:
    with pytest.raises(KeyError):
        load_sql("source_kafka_events", topic="t")


def test_kafka_source_reads_committed_records_only() -> None:
    sql = load_sql("source_kafka_events", **SOURCE_VALUES)
    assert "'properties.isolation.level' = 'read_committed'" in sql
    assert "${" not in sql


def test_every_sql_file_has_only_known_placeholders() -> None:
    values = dict(catalog_name="lakehouse", jdbc_url="jdbc:postgresql://h/db", jdbc_user="u", jdbc_password="p",
                  warehouse="file:///w", **SOURCE_VALUES)
    for path in SQL_DIR.glob("*.sql"):
        assert "${" not in load_sql(path.stem, **values)


def test_split_statements() -> None:
    script = "-- a comment\nCREATE TABLE t (a INT);\nINSERT INTO t\nVALUES (1);\nSELECT 1"
    assert split_statements(script) == ["CREATE TABLE t (a INT)", "INSERT INTO t\nVALUES (1)", "SELECT 1"]

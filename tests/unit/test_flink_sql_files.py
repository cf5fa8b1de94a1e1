"""SQL files load with every placeholder filled; the job helpers need no JVM."""

from __future__ import annotations

import re

import pytest

from flink_jobs.common import SQL_DIR, load_sql, split_statements

SOURCE_VALUES = dict(topic="events", bootstrap="127.0.0.1:9092", service_url="pulsar://127.0.0.1:6650",
                     group_id="g", max_future_seconds=300, event_time_columns="event_time AS now()",
                     allowed_lateness_seconds=30, silver_topic="events.silver", transactional_id_prefix="g-silver",
                     kafka_options="")


def test_every_file_the_jobs_name_exists() -> None:
    from flink_jobs import ingest, sessions

    assert {p.stem for p in SQL_DIR.glob("*.sql")} >= {"source_kafka_events", "source_pulsar_events",
                                                       "sink_kafka_silver_events",
                                                       *ingest.CHECKS.values(), *ingest.VIEWS, *ingest.INSERTS,
                                                       *sessions.INSERTS}


def test_missing_placeholder_raises() -> None:
    with pytest.raises(KeyError):
        load_sql("source_kafka_events", topic="t")


def test_kafka_source_reads_committed_records_only() -> None:
    sql = load_sql("source_kafka_events", **SOURCE_VALUES)
    assert "'properties.isolation.level' = 'read_committed'" in sql
    assert "${" not in sql


def _columns(create_table: str) -> list[str]:
    body = create_table[create_table.index("source_events (") + 1:create_table.index(") WITH (")]
    return re.findall(r"^  (\w+) ", body, flags=re.M)


def test_the_pulsar_source_has_the_kafka_source_columns_and_watermark() -> None:
    """The views and inserts are shared: the Pulsar source must define every column the Kafka
    source does (only the source definition differs), with the same event time and watermark."""
    kafka = load_sql("source_kafka_events", **SOURCE_VALUES)
    pulsar = load_sql("source_pulsar_events", **SOURCE_VALUES)
    assert set(_columns(kafka)) <= set(_columns(pulsar))
    for source in (kafka, pulsar):
        assert "CREATE TEMPORARY TABLE source_events (" in source
        assert "  event_time AS now()\n) WITH (" in source  # the shared columns_event_time.sql, last
    assert "'connector' = 'pulsar'" in pulsar and "'source.subscription-name' = 'g'" in pulsar
    shared = load_sql("columns_event_time", **SOURCE_VALUES)
    assert "TIMESTAMPADD(SECOND, -30, event_time))" in shared and "WATERMARK FOR event_time AS IF(" in shared
    code = "\n".join(line for line in shared.splitlines() if not line.lstrip().startswith("--"))
    # The event time is read by flowlake's function (tests/integration/test_event_time_function.py), not by
    # JSON_VALUE, REGEXP_EXTRACT and TO_TIMESTAMP (a full parse and a pattern compiled per call).
    assert code.count("flowlake_event_time(payload)") == 1 and "JSON_VALUE" not in code


def test_every_sql_file_has_only_known_placeholders() -> None:
    from flink_jobs import ingest

    values = dict(catalog_name="lakehouse", jdbc_url="jdbc:postgresql://h/db", jdbc_user="u", jdbc_password="p",
                  warehouse="file:///w", file_io_options="", watermark_floor="2026-01-01 00:00:00.000",
                  consent_topic="consent", **ingest.privacy_values(), **SOURCE_VALUES,
                  # the batch jobs' (flink_jobs/replay.py, flink_jobs/restate.py)
                  since_ms=0, rule="r", rule_pattern="r", columns="c", silver_event_ids="SELECT 1", from_ms=0,
                  until_ms=1, final_before_ms=0)
    for path in SQL_DIR.glob("*.sql"):
        assert "${" not in load_sql(path.stem, **values)


def test_split_statements() -> None:
    script = "-- a comment\nCREATE TABLE t (a INT);\nINSERT INTO t\nVALUES (1);\nSELECT 1"
    assert split_statements(script) == ["CREATE TABLE t (a INT)", "INSERT INTO t\nVALUES (1)", "SELECT 1"]


def test_every_insert_names_every_column_of_its_table_in_order() -> None:
    """Inserts name their columns: a column added to an existing table goes to the end of its schema
    (additive evolution), where a positional INSERT would put values into the wrong columns."""
    from flink_jobs import ingest, sessions
    from iceberg.tables import ALL_TABLES

    specs = {spec.identifier: [f.name for f in spec.schema.fields] for spec in ALL_TABLES}
    for insert in ingest.INSERTS + sessions.INSERTS:
        sql = load_sql(insert, catalog_name="lakehouse", **ingest.privacy_values())
        if "INSERT INTO lakehouse." not in sql:
            assert re.search(r"INSERT INTO \w+\s*\(`\w+`", sql), f"{insert}: no column list"
            continue
        match = re.search(r"INSERT INTO lakehouse\.(\w+\.\w+) /\*\+ OPTIONS\([^)]*\) \*/\s*\(([^)]*)\)", sql)
        assert match, f"{insert}: no column list after the table and its hints"
        columns = [c.strip().strip("`") for c in match.group(2).split(",")]
        assert columns == specs[match.group(1)], insert
        select = sql[match.end():]
        assert select.lstrip().startswith("SELECT"), insert


@pytest.mark.parametrize("checks", ["passthrough", "bridge"])
def test_a_benchmark_variant_is_refused_on_the_lakehouse_tables(checks: str) -> None:
    """Pass-through stores names, emails and card numbers as received: into a bench catalog only."""
    from flink_jobs import ingest

    base = ["--catalog-jdbc-url", "jdbc:postgresql://h/db", "--warehouse", "file:///w", "--checks", checks]
    with pytest.raises(SystemExit, match="benchmarks only") as refused:
        ingest.refuse_unsafe(ingest.arguments().parse_args(base))
    assert "'lakehouse'" in str(refused.value)
    ingest.refuse_unsafe(ingest.arguments().parse_args([*base, "--catalog-name", "bench"]))
    ingest.refuse_unsafe(ingest.arguments().parse_args(base[:-2]))  # the real checks, anywhere


def test_the_job_refuses_before_it_builds_anything() -> None:
    """The job's own entry point exits with the reason before it needs PyFlink (not installed here)."""
    import subprocess
    import sys

    from flink_jobs import ingest

    result = subprocess.run([sys.executable, ingest.__file__, "--catalog-jdbc-url", "jdbc:postgresql://h/db",
                             "--warehouse", "file:///w", "--checks", "passthrough"],
                            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert "not submitted: --checks passthrough stores records unmasked" in result.stderr

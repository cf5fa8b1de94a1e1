"""Access exports without services: which tables are read, at which snapshot, found how, and what the
bundle's files hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flowlake.errors import FlowlakeError
from flowlake.privacy import erasure_statements
from flowlake.privacy_export import exported_tables, person_filters, select_statements, write_table
from iceberg import registry

PINNED = {t.identifier: 1000 + i for i, t in enumerate(registry.TABLES)}


def test_an_export_reads_every_table_an_erasure_deletes_from_and_the_persons_requests() -> None:
    erased = {table for table, _ in erasure_statements("U00042", "lakehouse")}
    exported = {t.identifier for t in exported_tables()}
    assert exported == erased | {"gold.privacy_requests"}
    assert not any(t.startswith("audit.") for t in exported)


def test_each_table_is_read_at_its_pinned_snapshot_the_way_erasure_finds_the_person() -> None:
    statements = select_statements("U00042", "tok", "prod", PINNED)
    erasures = dict(erasure_statements("U00042", "prod"))
    for table, sql in statements.items():
        assert f"FROM prod.{table} FOR VERSION AS OF {PINNED[table]}\n" in sql
        if table in erasures and registry.by_identifier(table).person != registry.BY_EVENT_ID:
            # the same WHERE as the DELETE of erasure
            assert sql.split("\nWHERE ", 1)[1].split("\nORDER BY")[0] == erasures[table].split("WHERE", 1)[1].strip()
    assert "from_utf8(event_key) = 'U00042'" in statements["bronze.events"]
    assert statements["gold.privacy_requests"].split("WHERE ")[1].startswith("user_token = 'tok'")
    # events found through silver, each silver table at its own pinned snapshot
    late = statements["gold.late_events"]
    for table in registry.SILVER:
        pinned = f"FROM prod.{table.identifier} FOR VERSION AS OF {PINNED[table.identifier]}"
        assert f"{pinned} WHERE user_id = 'U00042'" in late
    assert "lakehouse." not in "".join(statements.values())


def test_tables_never_written_are_not_read() -> None:
    unwritten = {"silver.orders": None, "bronze.events": None}
    statements = select_statements("U00042", "tok", "lakehouse", {**PINNED, **unwritten})
    assert "bronze.events" not in statements and "silver.orders" not in statements
    assert "silver.orders" not in statements["gold.late_events"]
    no_silver = {**PINNED, **{t.identifier: None for t in registry.SILVER}}
    assert "gold.late_events" not in select_statements("U00042", "tok", "lakehouse", no_silver)


@pytest.mark.parametrize("user_id", ["U00001' OR '1'='1", "u00001", ""])
def test_anything_but_a_user_id_is_refused(user_id: str) -> None:
    with pytest.raises(FlowlakeError, match="is not a user id"):
        select_statements(user_id, "tok", "lakehouse", PINNED)


def test_the_filters_come_from_the_erase_templates() -> None:
    raw = person_filters()[registry.BY_RAW_PAYLOAD].template
    assert "regexp_like(from_utf8(payload)" in raw and not raw.startswith("DELETE")


def test_the_files_hold_the_rows_with_what_the_person_sent_as_text(tmp_path: Path) -> None:
    bronze = registry.by_identifier("bronze.events")
    columns = bronze.column_names()
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    values = {"event_key": b"U00042", "payload": b'{"user_id": "U00042", "name": "J\xc3\xa9r\xc3\xb4me"}\xff',
              "source_topic": "events", "source_partition": 1, "source_offset": 7, "source_message_id": b"\x01\x02",
              "source_timestamp": at, "ingested_at": at}
    row = [values.get(c) for c in columns]
    files = write_table(tmp_path, bronze, columns, [row])
    (line,) = (tmp_path / "bronze.events.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["payload"] == '{"user_id": "U00042", "name": "Jérôme"}\\xff'  # bytes that are not UTF-8 shown
    assert record["event_key"] == "U00042" and record["source_message_id"] == "0102"
    assert record["source_timestamp"] == "2026-12-06T12:00:00+00:00"
    parquet = pq.read_table(tmp_path / "bronze.events.parquet").to_pylist()
    assert parquet[0]["payload"] == record["payload"] and parquet[0]["source_offset"] == 7
    assert parquet[0]["source_timestamp"] == at
    assert set(files) == {"jsonl", "parquet"} and all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files.values())


def test_decimals_lists_and_an_empty_table_keep_their_types(tmp_path: Path) -> None:
    orders = registry.by_identifier("silver.orders")
    columns = orders.column_names()
    write_table(tmp_path, orders, columns, [])
    empty = pq.read_table(tmp_path / "silver.orders.parquet")
    assert empty.num_rows == 0 and empty.column_names == columns
    assert (tmp_path / "silver.orders.jsonl").read_text() == ""
    audit = registry.by_identifier("audit.erasures")
    at = datetime(2026, 12, 6, tzinfo=UTC)
    row = ["e1", "tok", ["r1"], "me", at, at, ["bronze.events"], {"bronze.events": 3}, 1, 2]
    write_table(tmp_path, audit, audit.column_names(), [row])
    got = pq.read_table(tmp_path / "audit.erasures.parquet").to_pylist()[0]
    assert got["rows_removed"] == [("bronze.events", 3)] and got["request_ids"] == ["r1"]
    assert json.loads((tmp_path / "audit.erasures.jsonl").read_text())["rows_removed"] == {"bronze.events": 3}
    example = {"string": "x", "int": 1, "long": 2, "double": 0.5, "timestamptz": at, "list<optional string>": ["a"]}
    revenue = next(c[0] for c in orders.columns if c[1].startswith("decimal"))
    row = [Decimal("12.30") if kind.startswith("decimal") else example.get(kind) for _, kind, _, _ in orders.columns]
    write_table(tmp_path, orders, columns, [row])
    assert json.loads((tmp_path / "silver.orders.jsonl").read_text())[revenue] == "12.30"  # exact, as text
    assert pq.read_table(tmp_path / "silver.orders.parquet").to_pylist()[0][revenue] == Decimal("12.30")


def test_headers_as_sent_are_text_too(tmp_path: Path) -> None:
    bronze = registry.by_identifier("bronze.events")
    at = datetime(2026, 12, 6, tzinfo=UTC)
    values = {"payload": b"{}", "source_topic": "events", "source_partition": 0, "source_timestamp": at,
              "ingested_at": at, "headers": {"trace": b"abc", "bad": b"\xff"}}
    write_table(tmp_path, bronze, bronze.column_names(), [[values.get(c) for c in bronze.column_names()]])
    assert json.loads((tmp_path / "bronze.events.jsonl").read_text())["headers"] == {"trace": "abc", "bad": "\\xff"}
    assert pq.read_table(tmp_path / "bronze.events.parquet").to_pylist()[0]["headers"] == [("trace", "abc"),
                                                                                          ("bad", "\\xff")]

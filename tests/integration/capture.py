"""Change data capture, checked: silver's captured tables against the source database row by row (through Trino),
bronze's changes once each. Shared by test_cdc and the fault tests."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from flowlake import shop
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.keys import pii_hash_key
from iceberg import registry
from udfs.masking import Policy, mask_value


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


def silver_differences(settings: Settings) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per captured table whose silver differs from the source: rows missing from silver and rows silver has
    beyond the source (a few of each, and their counts)."""
    found = {}
    for table in registry.CAPTURED.values():
        silver, source = set(silver_rows(settings, table)), set(expected_rows(settings, table))
        if silver != source:
            missing, extra = sorted(source - silver), sorted(silver - source)
            found[table.name] = {f"missing ({len(missing)})": missing[:3], f"extra ({len(extra)})": extra[:3]}
    return found


def silver_equals_source(settings: Settings) -> bool:
    return not silver_differences(settings)


def wait_for_silver_equal_to_source(settings: Settings, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while differences := silver_differences(settings):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s; silver differs: {differences}"
        time.sleep(3)


def bronze_changes(settings: Settings) -> list[list[Any]]:
    """bronze.cdc_changes' rows (table, operation, key, LSN, before, after) once every kind of change is there."""
    _, rows = query(settings, "SELECT source_table, operation, row_key, lsn, before, after "
                              "FROM lakehouse.bronze.cdc_changes")
    return rows if {"r", "c", "u", "d"} <= {row[1] for row in rows} else []


def assert_each_change_once(changes: list[list[Any]]) -> None:
    """Every change of the WAL once (the snapshot rows are checked through silver: a new job reads them again)."""
    stream = Counter((t, op, key, lsn, before, after) for t, op, key, lsn, before, after in changes if op != "r")
    assert stream and max(stream.values()) == 1, stream.most_common(3)

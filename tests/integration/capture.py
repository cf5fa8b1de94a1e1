"""Change data capture, checked: silver's captured tables against the source database row by row (through Trino),
bronze's changes once each. Shared by test_cdc and the fault tests."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from flowlake.capture import silver_differences
from flowlake.clients.trino import query
from flowlake.config import Settings


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

"""How `flowlake query` prints results and Trino's errors (no Trino needed)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from trino.exceptions import TrinoUserError

from flowlake.clients.trino import as_csv, as_json_lines, explain

ROWS = [[1, "a,b", Decimal("1.50"), datetime(2026, 11, 22, 12, 0, tzinfo=UTC), b"\x01\xff", ["x", "y"], None]]
COLUMNS = ["n", "text", "amount", "at", "raw", "list", "missing"]


def test_csv_round_trips_through_a_csv_reader() -> None:
    parsed = list(csv.reader(io.StringIO(as_csv(COLUMNS, ROWS))))
    assert parsed[0] == COLUMNS
    assert parsed[1] == ["1", "a,b", "1.50", "2026-11-22 12:00:00+00:00", "01ff", '["x", "y"]', ""]


def test_json_lines_are_one_object_per_row() -> None:
    [line] = as_json_lines(COLUMNS, ROWS).splitlines()
    assert json.loads(line) == {"n": 1, "text": "a,b", "amount": "1.50", "at": "2026-11-22 12:00:00+00:00",
                                "raw": "01ff", "list": ["x", "y"], "missing": None}


def test_errors_point_at_the_position_and_give_a_hint() -> None:
    error = TrinoUserError({"message": "line 2:8: Table 'lakehouse.silver.order' does not exist",
                            "errorName": "TABLE_NOT_FOUND", "errorType": "USER_ERROR",
                            "errorLocation": {"lineNumber": 2, "columnNumber": 8}}, query_id="q1")
    text = explain(error, "SELECT *\nFROM   lakehouse.silver.order")
    assert "(TABLE_NOT_FOUND)" in text and "line 2, column 8" in text
    assert "FROM   lakehouse.silver.order\n         ^" in text
    assert "flowlake tables" in text

"""Change data capture: the Debezium change envelopes of the Flink CDC PostgreSQL source (JSON, one per
change) into bronze rows (every change as received) and silver changelog rows (row kind and values, PII
masked). Pure: flink_jobs/cdc.py wraps it; the table layouts come from iceberg/registry.py.

Values reach Flink as Python ints and strings only; decimals and timestamps as text that the job's
INSERTs cast (sql/flink/insert_*.sql), so that no value is rounded on the way."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from udfs.masking import Policy, mask_value

# Debezium's operations and the Flink row kinds they become in silver (an update: its old row, its new row).
SNAPSHOT_READ, INSERT, UPDATE, DELETE = "r", "c", "u", "d"
ROW_KINDS = {SNAPSHOT_READ: ("+I",), INSERT: ("+I",), UPDATE: ("-U", "+U"), DELETE: ("-D",)}
# Column types of the registry that reach Flink as text (cast by the INSERT) rather than as numbers.
INTEGER_TYPES = ("int", "long")


class BadChange(ValueError):
    """An envelope the job cannot read: the job fails on it rather than skip a change (silver would drift)."""


@dataclass(frozen=True)
class Change:
    table: str  # schema.table in the source database
    operation: str  # r, c, u, d
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    lsn: int | None
    tx_id: int | None
    committed_at: str | None  # 'YYYY-MM-DD HH:MM:SS.ffffff' UTC; None for snapshot reads

    @property
    def name(self) -> str:
        return self.table.rsplit(".", 1)[-1]

    @property
    def image(self) -> Mapping[str, Any]:
        """The row as it is after the change, or as it was before a delete."""
        row = self.before if self.operation == DELETE else self.after
        assert row is not None
        return row


def sql_timestamp(moment: datetime) -> str:
    """A UTC timestamp as Flink SQL casts text to TIMESTAMP(6)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso_to_sql(text: str) -> str:
    # Debezium writes timestamptz as ISO-8601 UTC with as many fraction digits as it has: 2026-01-01T10:00:00Z,
    # ...T10:00:00.5Z, ...T10:00:00.123456Z.
    return sql_timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))


def parse_change(envelope: str) -> Change:
    try:
        data = json.loads(envelope)
        source, operation = data["source"], data["op"]
        table = f"{source['schema']}.{source['table']}"
    except (ValueError, KeyError, TypeError) as error:
        raise BadChange(f"not a Debezium change envelope ({error}): {envelope[:200]!r}") from error
    if operation not in ROW_KINDS:
        raise BadChange(f"unknown operation {operation!r} in a change of {table}")
    before, after = data.get("before"), data.get("after")
    if (operation == DELETE and before is None) or (operation != DELETE and after is None) or \
            (operation == UPDATE and before is None):
        # The source needs the whole old row of updates and deletes: REPLICA IDENTITY FULL on the table.
        raise BadChange(f"a change ({operation}) of {table} without its row image: give the table REPLICA "
                        f"IDENTITY FULL in the source database")
    snapshot = operation == SNAPSHOT_READ
    committed_ms = source.get("ts_ms")
    committed = None if snapshot or not committed_ms else sql_timestamp(datetime.fromtimestamp(committed_ms / 1000,
                                                                                                UTC))
    return Change(table, operation, before, after, None if snapshot else source.get("lsn"),
                  None if snapshot else source.get("txId"), committed)


def row_key(change: Change, key: Sequence[str]) -> str:
    return json.dumps({column: change.image.get(column) for column in key}, sort_keys=True, ensure_ascii=False)


def bronze_row(change: Change, key: Sequence[str], ingested_at: datetime) -> tuple[Any, ...]:
    """bronze.cdc_changes' columns, in order (timestamps as text)."""
    def image(row: Mapping[str, Any] | None) -> str | None:
        return None if row is None else json.dumps(row, sort_keys=True, ensure_ascii=False)

    user_id = change.image.get("user_id")
    return (change.table, change.operation, None if user_id is None else str(user_id), row_key(change, key),
            image(change.before), image(change.after), change.lsn or 0, change.tx_id, change.committed_at,
            sql_timestamp(ingested_at))


Column = tuple[str, str, bool, str]


def _value(value: Any, type_: str, mask: tuple[str, str] | None, key: bytes | None) -> Any:
    if value is None:
        return None
    if mask is not None:
        return mask_value(str(value), mask[0], Policy(mask[1]), key)
    if type_ in INTEGER_TYPES:
        return int(value)
    if type_ == "timestamptz":
        return _iso_to_sql(str(value))
    return str(value)  # strings; decimals arrive as text (decimal.handling.mode=string)


def silver_rows(change: Change, columns: Sequence[Column], masked: Mapping[str, tuple[str, str]],
                key: bytes | None = None) -> list[tuple[str, tuple[Any, ...]]]:
    """The changelog rows of a change for the table's silver upsert table: (row kind, values in the table's
    column order), PII masked. The last three columns are where the row came from (LSN, transaction, commit
    time); every other column is the source row's column of the same name."""
    *own, _lsn, _tx, _changed = columns
    tail = (change.lsn or 0, change.tx_id, change.committed_at)

    def values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return (*(_value(row.get(name), type_, masked.get(name), key) for name, type_, _, _ in own), *tail)

    images = {"+I": change.after, "+U": change.after, "-U": change.before, "-D": change.before}
    return [(kind, values(images[kind])) for kind in ROW_KINDS[change.operation]]  # type: ignore[arg-type]

"""PyFlink functions of the cdc job around the pure logic in udfs.cdc. Job environment only (imports
pyflink)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pyflink.common import Row, Types
from pyflink.common.types import RowKind
from pyflink.datastream import FlatMapFunction, MapFunction, RuntimeContext

from udfs import cdc
from udfs.masking import load_checked_hash_key

ROW_KINDS = {"+I": RowKind.INSERT, "-U": RowKind.UPDATE_BEFORE, "+U": RowKind.UPDATE_AFTER, "-D": RowKind.DELETE}
TYPES = {"int": Types.INT(), "long": Types.LONG()}  # every other column type travels as text


def row_type(columns: Sequence[cdc.Column]) -> Any:
    return Types.ROW_NAMED([c[0] for c in columns], [TYPES.get(c[1], Types.STRING()) for c in columns])


class BronzeRows(MapFunction):  # type: ignore[misc]
    """Each change as bronze.cdc_changes' row."""

    def __init__(self, keys: dict[str, tuple[str, ...]]) -> None:
        self.keys = keys

    def map(self, change: cdc.Change) -> Row:
        return Row(*cdc.bronze_row(change, self.keys[change.name], datetime.now(UTC)))


class SilverRows(FlatMapFunction):  # type: ignore[misc]
    """The changes of one captured table as changelog rows of its silver table, PII masked with the key
    the job was submitted with (`key_fingerprint`)."""

    def __init__(self, table: str, columns: Sequence[cdc.Column], masked: dict[str, tuple[str, str]],
                 key_fingerprint: str) -> None:
        self.table, self.columns, self.masked, self.key_fingerprint = table, tuple(columns), masked, key_fingerprint
        self.key: bytes | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        if self.masked:
            self.key = load_checked_hash_key(self.key_fingerprint)

    def flat_map(self, change: cdc.Change) -> Iterator[Row]:
        if change.name != self.table:
            return
        for kind, values in cdc.silver_rows(change, self.columns, self.masked, self.key):
            row = Row(*values)
            row.set_row_kind(ROW_KINDS[kind])
            yield row

"""The captured tables checked: each silver upsert table against its source table in the database, row by row
(through Trino), the PII columns hashed as the cdc job hashes them (`flowlake cdc verify`, the tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowlake import shop
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.keys import pii_hash_key
from iceberg import registry
from udfs.masking import Policy, mask_value

SHOWN = 3  # differing rows shown per table and side


def _utc(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def expected_rows(settings: Settings, table: registry.Table) -> list[tuple[Any, ...]]:
    """The source table now, each PII column hashed as the job hashes it."""
    key = pii_hash_key(settings).encode()
    masks = {column: (entity, Policy(policy)) for column, entity, policy in table.masked}
    columns = table.column_names()[:-3]  # without the change's LSN, transaction and commit time
    rows = []
    for row in shop.current_rows(settings, table.name, columns):
        rows.append(tuple(mask_value(value, *masks[name], key) if name in masks and value is not None
                          else _utc(value.strip() if name == "country" and value else value)
                          for name, value in zip(columns, row, strict=True)))
    return sorted(rows)


def silver_rows(settings: Settings, table: registry.Table) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{name}"' for name in table.column_names()[:-3])
    _, rows = query(settings, f"SELECT {columns} FROM {settings.catalog_name}.{table.identifier}")
    return sorted(tuple(_utc(value) for value in row) for row in rows)


def silver_differences(settings: Settings, tables: list[registry.Table] | None = None
                       ) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per captured table whose silver differs from the source: rows missing from silver and rows silver has
    beyond the source (a few of each, and their counts)."""
    found = {}
    for table in tables or list(registry.CAPTURED.values()):
        silver, source = set(silver_rows(settings, table)), set(expected_rows(settings, table))
        if silver != source:
            missing, extra = sorted(source - silver), sorted(silver - source)
            found[table.name] = {f"missing ({len(missing)})": missing[:SHOWN], f"extra ({len(extra)})": extra[:SHOWN]}
    return found

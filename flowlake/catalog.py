"""Access to the lakehouse's Iceberg JDBC catalog (PostgreSQL), shared by Flink, Trino and PyIceberg."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pyarrow.compute as pc
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.conversions import from_bytes
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError
from pyiceberg.table import Table
from pyiceberg.types import TimestamptzType

from iceberg.registry import NAMESPACES
from iceberg.tables import ALL_TABLES, GOLD_WINDOW_TABLES, RENAMED, TableProperties, TableSpec
from udfs.errors import FlowlakeError

if TYPE_CHECKING:
    from flowlake.config import Settings


def load_catalog(settings: Settings) -> SqlCatalog:
    from flowlake.clients.storage import pyiceberg_properties

    # init_catalog_tables creates the catalog's two tables in the JDBC catalog's V1 layout, the one
    # Flink (jdbc.schema-version=V1) and Trino expect; Trino never creates them itself.
    return SqlCatalog(
        settings.catalog_name,
        uri=settings.catalog_sqlalchemy_url,
        warehouse=settings.warehouse_uri,
        init_catalog_tables="true",
        **pyiceberg_properties(settings),
    )


class IncompatibleTable(FlowlakeError):
    pass


def _apply_renames(table: Table, spec: TableSpec) -> Table:
    """Columns and partition fields renamed since the table was created (tables.RENAMED)."""
    wanted = {f.name for f in spec.schema.fields}
    columns = {f.name for f in table.schema().fields}
    renames = {old: new for old, new in RENAMED.items() if old in columns and new in wanted and new not in columns}
    if renames:
        with table.update_schema() as update:
            for old, new in renames.items():
                update.rename_column(old, new)
    wanted_fields = {f.name for f in spec.partition_spec.fields}
    fields = {f.name for f in table.spec().fields}
    field_renames = {old: new for old, new in RENAMED.items() if old in fields and new in wanted_fields}
    if field_renames:
        with table.update_spec() as update_spec:
            for old, new in field_renames.items():
                update_spec.rename_field(old, new)
    return table.refresh() if renames or field_renames else table


def ensure_table(catalog: SqlCatalog, spec: TableSpec) -> Table:
    """Create the table, or bring an existing one up to the spec: renamed and new columns, columns the
    spec makes optional, column docs and changed properties are applied; a changed type is an error naming the
    fix; columns the spec no longer names stay."""
    try:
        table = catalog.load_table(spec.identifier)
    except NoSuchTableError:
        return catalog.create_table(spec.identifier, schema=spec.schema, partition_spec=spec.partition_spec,
                                    sort_order=spec.sort_order,
                                    properties=spec.table_properties)  # a copy: PyIceberg pops keys from it
    table = _apply_renames(table, spec)
    current = {f.name: f for f in table.schema().fields}
    for wanted in spec.schema.fields:
        have = current.get(wanted.name)
        if have is not None and str(have.field_type) != str(wanted.field_type):  # ids of nested fields differ
            raise IncompatibleTable(
                f"{spec.identifier}.{wanted.name} is {have.field_type}, the spec says {wanted.field_type}: only "
                f"additive changes are applied. Move the old table aside in Trino (ALTER TABLE "
                f"{spec.identifier} RENAME TO {spec.identifier}_old) and run `flowlake tables create`")
    new_columns = [f for f in spec.schema.fields if f.name not in current]
    relaxed = [f.name for f in spec.schema.fields
               if f.name in current and current[f.name].required and not f.required]
    redocumented = [f for f in spec.schema.fields if f.name in current and f.doc and current[f.name].doc != f.doc]
    if new_columns or relaxed or redocumented:
        with table.update_schema() as update:
            for column in new_columns:  # added as optional: rows written before have no value
                update.add_column(column.name, column.field_type, doc=column.doc)
            for name in relaxed:
                update.make_column_optional(name)
            for column in redocumented:
                update.update_column(column.name, doc=column.doc)
    changed = {k: v for k, v in spec.table_properties.items()
               if k != TableProperties.FORMAT_VERSION and table.properties.get(k) != v}
    if changed:
        with table.transaction() as transaction:
            transaction.set_properties(changed)
    return catalog.load_table(spec.identifier) if new_columns or relaxed or redocumented or changed else table


def ensure_catalog(settings: Settings) -> SqlCatalog:
    """Catalog tables, namespaces and every table of the lakehouse; idempotent."""
    if settings.warehouse_uri.startswith("file:"):
        Path(settings.warehouse_uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(settings)
    for namespace in NAMESPACES:
        try:
            catalog.create_namespace(namespace)
        except NamespaceAlreadyExistsError:
            pass
    for spec in ALL_TABLES:
        ensure_table(catalog, spec)
    return catalog


@dataclass(frozen=True)
class TableInfo:
    identifier: str
    snapshots: int
    data_files: int
    records: int
    size_bytes: int


def _summary_int(table: Table, key: str) -> int:
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.additional_properties.get(key, 0))


def describe_tables(catalog: SqlCatalog) -> list[TableInfo]:
    """Every table of every namespace with its snapshot count and current file, record and byte totals."""
    infos = []
    for namespace in sorted(catalog.list_namespaces()):
        for identifier in sorted(catalog.list_tables(namespace)):
            table = catalog.load_table(identifier)
            infos.append(TableInfo(
                identifier=".".join(identifier),
                snapshots=len(table.metadata.snapshots),
                data_files=_summary_int(table, "total-data-files"),
                records=_summary_int(table, "total-records"),
                size_bytes=_summary_int(table, "total-files-size"),
            ))
    return infos


def gold_written_until(catalog: SqlCatalog) -> datetime | None:
    """The end of the newest window in the gold window tables (None when they are empty or missing).
    Read from the data files' column bounds; a file written without them is read in full."""
    ends: list[datetime] = []
    for spec in GOLD_WINDOW_TABLES:
        try:
            table = catalog.load_table(spec.identifier)
        except NoSuchTableError:
            continue
        field = table.schema().find_field("window_end")
        scan = table.scan(selected_fields=("window_end",))
        for task in scan.plan_files():
            bound = (task.file.upper_bounds or {}).get(field.field_id)
            if bound is None:
                newest = pc.max(scan.to_arrow()["window_end"]).as_py()
                ends += [newest] if newest is not None else []
                break
            micros = cast(int, from_bytes(TimestamptzType(), bound))
            ends.append(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros))
    return max(ends, default=None)

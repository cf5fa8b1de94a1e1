"""The Iceberg specs (PyIceberg schema, partition spec, sort order, properties) of the lakehouse's tables,
made from their one description in iceberg/registry.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    PrimitiveType,
    StringType,
    TimestamptzType,
)

from iceberg import registry
from iceberg.registry import Table


class TableProperties:
    FORMAT_VERSION = "format-version"
    FORMAT_VERSION_DEFAULT = "2"
    PARQUET_COMPRESSION = "write.parquet.compression-codec"
    PARQUET_COMPRESSION_DEFAULT = "zstd"
    TARGET_FILE_SIZE_BYTES = "write.target-file-size-bytes"
    TARGET_FILE_SIZE_BYTES_DEFAULT = str(128 * 1024 * 1024)
    # Rows of one partition go to one writer: one file per partition per checkpoint, not one per writer
    # (the gold tables; the streamed ones write without the shuffle: registry.Table.streamed).
    DISTRIBUTION_MODE = "write.distribution-mode"
    DISTRIBUTION_MODE_DEFAULT = "hash"
    # Several jobs (and compaction) commit to the same tables: retry on concurrent commits.
    COMMIT_RETRIES = "commit.retry.num-retries"
    COMMIT_RETRIES_DEFAULT = "10"
    # Column statistics for pruning; truncated so long strings do not bloat manifests.
    METRICS_DEFAULT = "write.metadata.metrics.default"
    METRICS_DEFAULT_DEFAULT = "truncate(16)"
    METRICS_COLUMN_PREFIX = "write.metadata.metrics.column."
    # A streaming writer commits once per checkpoint: keep the metadata files from piling up.
    METADATA_DELETE_AFTER_COMMIT = "write.metadata.delete-after-commit.enabled"
    METADATA_PREVIOUS_VERSIONS_MAX = "write.metadata.previous-versions-max"
    METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT = "100"
    # The table comment Trino shows (SHOW CREATE TABLE, COMMENT ON TABLE).
    COMMENT = "comment"


DEFAULT_PROPERTIES = {
    TableProperties.FORMAT_VERSION: TableProperties.FORMAT_VERSION_DEFAULT,
    TableProperties.PARQUET_COMPRESSION: TableProperties.PARQUET_COMPRESSION_DEFAULT,
    TableProperties.TARGET_FILE_SIZE_BYTES: TableProperties.TARGET_FILE_SIZE_BYTES_DEFAULT,
    TableProperties.DISTRIBUTION_MODE: TableProperties.DISTRIBUTION_MODE_DEFAULT,
    TableProperties.COMMIT_RETRIES: TableProperties.COMMIT_RETRIES_DEFAULT,
    TableProperties.METRICS_DEFAULT: TableProperties.METRICS_DEFAULT_DEFAULT,
    TableProperties.METADATA_DELETE_AFTER_COMMIT: "true",
    TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: TableProperties.METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT,
}


@dataclass(frozen=True)
class TableSpec:
    namespace: str
    name: str
    schema: Schema
    partition_spec: PartitionSpec
    sort_order: SortOrder = field(default_factory=SortOrder)
    properties: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))
    comment: str = ""

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def table_properties(self) -> dict[str, str]:
        """The properties to set on the table: the spec's, with its comment."""
        return {**self.properties, TableProperties.COMMENT: self.comment} if self.comment else dict(self.properties)


# Iceberg's write.parquet.stats-enabled.column.<name> (Iceberg 1.10+; PyIceberg has no constant for it).
PARQUET_STATS_ENABLED_PREFIX = "write.parquet.stats-enabled.column."

PRIMITIVES: dict[str, PrimitiveType] = {"string": StringType(), "int": IntegerType(), "long": LongType(),
                                        "double": DoubleType(), "binary": BinaryType(),
                                        "boolean": BooleanType(), "timestamptz": TimestamptzType()}
_DECIMAL = re.compile(r"decimal\((\d+), (\d+)\)")
_LIST = re.compile(r"list<(required|optional) (\w+)>")
_MAP = re.compile(r"map<(\w+), (required|optional) (\w+)>")


def _primitive(name: str) -> PrimitiveType:
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        return DecimalType(int(decimal.group(1)), int(decimal.group(2)))
    if name not in PRIMITIVES:
        raise ValueError(f"unknown column type {name!r}: one of {', '.join(PRIMITIVES)}, decimal(P, S), "
                         "list<required|optional T>, map<K, required|optional V>")
    return PRIMITIVES[name]


def iceberg_type(name: str, next_id: list[int]) -> IcebergType:
    """The Iceberg type a registry column names; nested fields take their ids from next_id (1001, 1002, ...
    in column order within a table), as the tables were first created."""
    def take() -> int:
        next_id[0] += 1
        return next_id[0] - 1

    if match := _LIST.fullmatch(name):
        return ListType(take(), _primitive(match.group(2)), element_required=match.group(1) == "required")
    if match := _MAP.fullmatch(name):
        key_id, value_id = take(), take()
        return MapType(key_id, _primitive(match.group(1)), value_id, _primitive(match.group(3)),
                       value_required=match.group(2) == "required")
    return _primitive(name)


def spec(table: Table) -> TableSpec:
    """The Iceberg spec of a registry table: field ids in column order, partitioned by day of its
    partition column (partition field id 1000), sorted by its sort columns."""
    nested = [1001]
    fields = [NestedField(i, name, iceberg_type(type_, nested), required=required, doc=doc or None)
              for i, (name, type_, required, doc) in enumerate(table.columns, start=1)]
    schema = Schema(*fields, identifier_field_ids=[f.field_id for f in fields if f.name in table.key])
    partition = PartitionSpec()
    if table.partition:
        column, partition_name = table.partition
        partition = PartitionSpec(PartitionField(source_id=schema.find_field(column).field_id, field_id=1000,
                                                 transform=DayTransform(), name=partition_name))
    sort = SortOrder(*(SortField(source_id=schema.find_field(c).field_id, transform=IdentityTransform())
                       for c in table.sort))
    properties = dict(DEFAULT_PROPERTIES)
    if table.streamed:
        properties[TableProperties.DISTRIBUTION_MODE] = "none"
        properties.update({TableProperties.METRICS_COLUMN_PREFIX + c: "none" for c in table.no_metrics})
        # Nor Parquet's own min/max per page and row group, which nothing reads for these columns (Parquet
        # compares every value with the running bounds; no CPU difference measurable, docs/benchmarks.md).
        properties.update({PARQUET_STATS_ENABLED_PREFIX + c: "false" for c in table.no_metrics})
    return TableSpec(table.namespace, table.name, schema, partition, sort, properties, table.comment)


# Columns renamed since a table was first created: ensure_table renames them in place (same field
# ids, so existing data files keep their values).
RENAMED = {"kafka_topic": "source_topic", "kafka_partition": "source_partition", "kafka_offset": "source_offset",
           "kafka_timestamp": "source_timestamp", "kafka_day": "source_day"}

ALL_TABLES = tuple(spec(table) for table in registry.TABLES)
SPECS = {table_spec.identifier: table_spec for table_spec in ALL_TABLES}
BRONZE_EVENTS = SPECS[registry.BRONZE_EVENTS.identifier]
SILVER_TABLES = tuple(SPECS[table.identifier] for table in registry.SILVER)
GOLD_WINDOW_TABLES = tuple(SPECS[table.identifier] for table in registry.GOLD_WINDOWS)
TABLE_COMMENTS = {table.identifier: table.comment for table in registry.TABLES}

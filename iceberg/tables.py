"""Table specs of the lakehouse: schema, partitioning and properties per table, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import IntegerType, LongType, NestedField, StringType, TimestamptzType


class TableProperties:
    FORMAT_VERSION = "format-version"
    FORMAT_VERSION_DEFAULT = "2"
    PARQUET_COMPRESSION = "write.parquet.compression-codec"
    PARQUET_COMPRESSION_DEFAULT = "zstd"
    TARGET_FILE_SIZE_BYTES = "write.target-file-size-bytes"
    TARGET_FILE_SIZE_BYTES_DEFAULT = str(128 * 1024 * 1024)
    # A streaming writer commits once per checkpoint: keep the metadata files from piling up.
    METADATA_DELETE_AFTER_COMMIT = "write.metadata.delete-after-commit.enabled"
    METADATA_PREVIOUS_VERSIONS_MAX = "write.metadata.previous-versions-max"
    METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT = "100"


DEFAULT_PROPERTIES = {
    TableProperties.FORMAT_VERSION: TableProperties.FORMAT_VERSION_DEFAULT,
    TableProperties.PARQUET_COMPRESSION: TableProperties.PARQUET_COMPRESSION_DEFAULT,
    TableProperties.TARGET_FILE_SIZE_BYTES: TableProperties.TARGET_FILE_SIZE_BYTES_DEFAULT,
    TableProperties.METADATA_DELETE_AFTER_COMMIT: "true",
    TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: TableProperties.METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT,
}

NAMESPACES = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class TableSpec:
    namespace: str
    name: str
    schema: Schema
    partition_spec: PartitionSpec
    properties: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"


# Bronze: every Kafka record as received, with where it came from. (partition, offset) is unique.
BRONZE_EVENTS = TableSpec(
    namespace="bronze",
    name="events",
    schema=Schema(
        NestedField(1, "event_key", StringType(), required=False, doc="Kafka record key"),
        NestedField(2, "payload", StringType(), required=False, doc="Kafka record value, as received"),
        NestedField(3, "kafka_topic", StringType(), required=True),
        NestedField(4, "kafka_partition", IntegerType(), required=True),
        NestedField(5, "kafka_offset", LongType(), required=True),
        NestedField(6, "kafka_timestamp", TimestamptzType(), required=True),
        NestedField(7, "ingested_at", TimestamptzType(), required=True, doc="when Flink read the record"),
    ),
    partition_spec=PartitionSpec(
        PartitionField(source_id=6, field_id=1000, transform=DayTransform(), name="kafka_day"),
    ),
)

ALL_TABLES = (BRONZE_EVENTS,)

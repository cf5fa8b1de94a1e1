from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.types import BinaryType, LongType, NestedField, StringType

from flowlake.catalog import IncompatibleTable, TableInfo, describe_tables, ensure_table
from iceberg.registry import NAMESPACES
from iceberg.tables import ALL_TABLES, BRONZE_EVENTS, TableProperties, TableSpec


def test_bronze_keeps_source_coordinates() -> None:
    schema = BRONZE_EVENTS.schema
    for name in ("source_topic", "source_partition", "source_timestamp"):
        assert schema.find_field(name).required
    # A Kafka record has an offset and no message id, a Pulsar message the other way round.
    for name in ("source_offset", "source_message_id", "payload"):
        assert not schema.find_field(name).required


def test_tables_are_format_v2_with_metadata_cleanup() -> None:
    for spec in ALL_TABLES:
        assert spec.properties[TableProperties.FORMAT_VERSION] == "2"
        assert spec.properties[TableProperties.METADATA_DELETE_AFTER_COMMIT] == "true"


def test_partition_fields_reference_existing_columns() -> None:
    for spec in ALL_TABLES:
        ids = {f.field_id for f in spec.schema.fields}
        assert all(p.source_id in ids for p in spec.partition_spec.fields)


def test_ensure_table_is_idempotent_and_keeps_the_spec_intact(tmp_path: Path) -> None:
    # A real Iceberg catalog on SQLite: no services needed.
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace(BRONZE_EVENTS.namespace)
    before = dict(BRONZE_EVENTS.properties)
    first = ensure_table(catalog, BRONZE_EVENTS)
    second = ensure_table(catalog, BRONZE_EVENTS)
    assert BRONZE_EVENTS.properties == before
    assert first.metadata.table_uuid == second.metadata.table_uuid
    assert first.metadata.format_version == 2
    assert first.properties[TableProperties.PARQUET_COMPRESSION] == "zstd"
    assert [f.name for f in first.spec().fields] == ["source_day"]


def test_schema_changes_are_additive(tmp_path: Path) -> None:
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace("gold")
    old = TableSpec("gold", "t", Schema(NestedField(1, "a", StringType(), required=True)), PartitionSpec())
    ensure_table(catalog, old)
    grown = replace(old, schema=Schema(NestedField(1, "a", StringType(), required=True),
                                       NestedField(2, "b", LongType(), required=True)),
                    properties={**old.properties, TableProperties.COMMIT_RETRIES: "7"})
    table = ensure_table(catalog, grown)
    assert [(f.name, f.required) for f in table.schema().fields] == [("a", True), ("b", False)]
    assert table.properties[TableProperties.COMMIT_RETRIES] == "7"
    location = table.metadata_location
    assert ensure_table(catalog, grown).metadata_location == location  # nothing to do: no new commit
    changed = replace(old, schema=Schema(NestedField(1, "a", LongType(), required=True)))
    with pytest.raises(IncompatibleTable, match="only additive changes"):
        ensure_table(catalog, changed)


def test_every_table_is_created_with_nested_types_and_sort_order(tmp_path: Path) -> None:
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    for namespace in NAMESPACES:
        catalog.create_namespace(namespace)
    for spec in ALL_TABLES:
        table = ensure_table(catalog, spec)
        assert ensure_table(catalog, spec).metadata_location == table.metadata_location  # idempotent
        assert len(table.sort_order().fields) >= 1
    assert {".".join(t) for ns in NAMESPACES for t in catalog.list_tables(ns)} == {s.identifier for s in ALL_TABLES}


def test_describe_tables_counts_snapshots_files_and_records(tmp_path: Path) -> None:
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace("bronze")
    ensure_table(catalog, BRONZE_EVENTS)
    catalog.create_namespace("gold")
    # Unpartitioned: appending to a day-partitioned table needs pyiceberg-core, which we do not ship.
    table = catalog.create_table("gold.counts", schema=pa.schema([pa.field("n", pa.int64())]))
    table.append(pa.table({"n": [1, 2, 3]}))
    table.append(pa.table({"n": [4, 5, 6]}))
    assert describe_tables(catalog)[0] == TableInfo("bronze.events", 0, 0, 0, 0)
    info = describe_tables(catalog)[1]
    assert (info.identifier, info.snapshots, info.data_files, info.records) == ("gold.counts", 2, 2, 6)
    assert info.size_bytes > 0


def test_gold_written_until_is_the_newest_window_end_of_any_gold_window_table(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from flowlake.catalog import gold_written_until
    from iceberg.tables import GOLD_WINDOW_TABLES

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace("gold")
    assert gold_written_until(catalog) is None  # no tables yet
    # Unpartitioned copies: PyIceberg writes into day partitions only with the optional pyiceberg-core.
    revenue, funnel = (ensure_table(catalog, replace(spec, partition_spec=PartitionSpec()))
                       for spec in GOLD_WINDOW_TABLES)
    assert gold_written_until(catalog) is None  # empty tables

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, 22, hour, minute, tzinfo=UTC)

    def windows(table, rows: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
        table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))

    windows(funnel, [dict(window_start=at(9), window_end=at(10), page_views=1, add_to_carts=0, orders=0,
                          visitors=1, buyers=0)])
    assert gold_written_until(catalog) == at(10)
    line = dict(country="DE", category="kitchen", currency="EUR", orders=1, units=1, revenue=Decimal("9.90"))
    windows(revenue, [dict(window_start=at(10, 6), window_end=at(10, 7), **line),
                      dict(window_start=at(10, 2), window_end=at(10, 3), **line)])
    windows(revenue, [dict(window_start=at(9, 58), window_end=at(9, 59), **line)])
    assert gold_written_until(catalog) == at(10, 7)  # newest of every file of both tables


def test_a_table_created_with_kafka_columns_is_renamed_in_place(tmp_path: Path) -> None:
    """Tables created before the source columns were renamed keep their data: same field ids, new
    names, the Kafka offset made optional, the message id added, the partition field renamed."""
    from pyiceberg.partitioning import PartitionField
    from pyiceberg.transforms import DayTransform
    from pyiceberg.types import IntegerType, TimestamptzType

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace("bronze")
    old_schema = Schema(NestedField(1, "payload", StringType(), required=False),
                        NestedField(2, "kafka_partition", IntegerType(), required=True),
                        NestedField(3, "kafka_offset", LongType(), required=True),
                        NestedField(4, "kafka_timestamp", TimestamptzType(), required=True))
    # Appending to a day-partitioned table needs pyiceberg-core: the data goes into an unpartitioned
    # one, the partition field rename is checked on a second, empty table.
    catalog.create_table("bronze.partitioned", schema=old_schema, partition_spec=PartitionSpec(
        PartitionField(source_id=4, field_id=1000, transform=DayTransform(), name="kafka_day")))
    old = catalog.create_table("bronze.events", schema=old_schema)
    old.append(pa.table({"payload": ["x"], "kafka_partition": pa.array([3], pa.int32()),
                         "kafka_offset": [42], "kafka_timestamp": pa.array([0], pa.timestamp("us", "UTC"))},
                        schema=old.schema().as_arrow()))
    spec = replace(BRONZE_EVENTS, schema=Schema(
        NestedField(1, "payload", StringType(), required=False),
        NestedField(2, "source_partition", IntegerType(), required=True),
        NestedField(3, "source_offset", LongType(), required=False),
        NestedField(4, "source_timestamp", TimestamptzType(), required=True),
        NestedField(5, "source_message_id", BinaryType(), required=False)))
    table = ensure_table(catalog, replace(spec, partition_spec=PartitionSpec()))
    partitioned = ensure_table(catalog, replace(spec, name="partitioned"))
    assert [f.name for f in partitioned.spec().fields] == ["source_day"]
    fields = {f.name: (f.field_id, f.required) for f in table.schema().fields}
    assert fields == {"payload": (1, False), "source_partition": (2, True), "source_offset": (3, False),
                      "source_timestamp": (4, True), "source_message_id": (5, False)}
    row = table.scan().to_arrow().to_pylist()
    assert row == [{"payload": "x", "source_partition": 3, "source_offset": 42,
                    "source_timestamp": row[0]["source_timestamp"], "source_message_id": None}]


def test_every_table_and_column_is_described_for_sql_users() -> None:
    from iceberg.tables import TABLE_COMMENTS

    assert set(TABLE_COMMENTS) == {spec.identifier for spec in ALL_TABLES}
    for spec in ALL_TABLES:
        assert spec.table_properties[TableProperties.COMMENT] == TABLE_COMMENTS[spec.identifier]
        undocumented = [f.name for f in spec.schema.fields if not f.doc]
        assert not undocumented, f"{spec.identifier}: {undocumented}"

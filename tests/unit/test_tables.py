from __future__ import annotations

from pathlib import Path

from pyiceberg.catalog.sql import SqlCatalog

from iceberg.catalog import ensure_table
from iceberg.tables import ALL_TABLES, BRONZE_EVENTS, TableProperties


def test_bronze_keeps_kafka_coordinates_required() -> None:
    schema = BRONZE_EVENTS.schema
    for name in ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"):
        assert schema.find_field(name).required
    assert not schema.find_field("payload").required


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
    assert [f.name for f in first.spec().fields] == ["kafka_day"]

from __future__ import annotations

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

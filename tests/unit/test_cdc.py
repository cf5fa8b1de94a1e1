"""The cdc job's pure logic (udfs.cdc): Debezium change envelopes as the Flink CDC PostgreSQL source writes them
(the shapes a spike recorded, docs/design/cdc.md) into bronze rows and silver changelog rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from iceberg import registry
from udfs import cdc
from udfs.masking import Policy, mask_value

KEY = b"test-key"
CUSTOMER = {"user_id": "U00001", "email": "ann@example.com", "full_name": "Ann Smith", "phone": "+491700000001",
            "country": "DE", "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00.5Z"}


def envelope(op: str, before: dict | None, after: dict | None, table: str = "customers",
             lsn: int = 26703296, tx: int | None = 780, ts_ms: int = 1796665016393) -> str:
    snapshot = op == "r"
    source = {"version": "1.9.8.Final", "connector": "postgresql", "db": "shop", "schema": "public", "table": table,
              "lsn": 0 if snapshot else lsn, "txId": None if snapshot else tx, "ts_ms": 0 if snapshot else ts_ms,
              "snapshot": "false"}
    return json.dumps({"before": before, "after": after, "source": source, "op": op, "ts_ms": ts_ms})


def masked(table: registry.Table) -> dict[str, tuple[str, str]]:
    return {column: (entity, policy) for column, entity, policy in table.masked}


def test_a_snapshot_read_has_no_position_and_inserts_the_row_masked() -> None:
    change = cdc.parse_change(envelope("r", None, CUSTOMER))
    assert (change.table, change.operation, change.lsn, change.tx_id, change.committed_at) == \
        ("public.customers", "r", None, None, None)
    [(kind, values)] = cdc.silver_rows(change, registry.SILVER_CUSTOMERS.columns, masked(registry.SILVER_CUSTOMERS),
                                       KEY)
    assert kind == "+I"
    assert values == ("U00001", mask_value("ann@example.com", "EMAIL_ADDRESS", Policy.HASH, KEY),
                      mask_value("Ann Smith", "PERSON", Policy.HASH, KEY),
                      mask_value("+491700000001", "PHONE_NUMBER", Policy.HASH, KEY), "DE",
                      "2026-01-01 10:00:00.000000", "2026-01-01 10:00:00.500000", 0, None, None)
    assert "ann@example.com" not in repr(values)


def test_an_update_is_its_old_and_new_row_with_the_changes_position() -> None:
    after = {**CUSTOMER, "email": "ann@new.example"}
    change = cdc.parse_change(envelope("u", CUSTOMER, after))
    rows = cdc.silver_rows(change, registry.SILVER_CUSTOMERS.columns, masked(registry.SILVER_CUSTOMERS), KEY)
    assert [kind for kind, _ in rows] == ["-U", "+U"]
    assert rows[1][1][1] == mask_value("ann@new.example", "EMAIL_ADDRESS", Policy.HASH, KEY)
    assert rows[1][1][-3:] == (26703296, 780, "2026-12-07 17:36:56.393000")


def test_a_delete_is_the_old_row_and_bronze_keeps_it_with_its_key() -> None:
    change = cdc.parse_change(envelope("d", CUSTOMER, None))
    assert [kind for kind, _ in cdc.silver_rows(change, registry.SILVER_CUSTOMERS.columns, {}, None)] == ["-D"]
    row = cdc.bronze_row(change, ("user_id",), datetime(2026, 12, 7, tzinfo=UTC))
    assert row[:4] == ("public.customers", "d", "U00001", '{"user_id": "U00001"}')
    assert json.loads(row[4]) == CUSTOMER and row[5] is None
    assert row[6:] == (26703296, 780, "2026-12-07 17:36:56.393000", "2026-12-07 00:00:00.000000")


def test_numbers_stay_exact_decimals_travel_as_text() -> None:
    product = {"sku": "SKU-1001", "title": "Espresso machine", "category": "kitchen", "price": "249.90", "stock": 7,
               "updated_at": "2026-01-01T10:00:00.123456Z"}
    change = cdc.parse_change(envelope("c", None, product, table="products"))
    [(_, values)] = cdc.silver_rows(change, registry.SILVER_PRODUCTS.columns, {}, None)
    assert values[:6] == ("SKU-1001", "Espresso machine", "kitchen", "249.90", 7, "2026-01-01 10:00:00.123456")


@pytest.mark.parametrize("text, reason", [
    ("not json", "not a Debezium change envelope"),
    (json.dumps({"op": "c", "after": {}}), "not a Debezium change envelope"),
    (envelope("t", None, CUSTOMER), "unknown operation 't'"),
    (envelope("u", None, CUSTOMER), "REPLICA IDENTITY FULL"),
    (envelope("d", None, None), "REPLICA IDENTITY FULL"),
])
def test_an_envelope_the_job_cannot_read_names_why(text: str, reason: str) -> None:
    with pytest.raises(cdc.BadChange, match=reason):
        cdc.parse_change(text)


def test_every_captured_table_ends_with_where_its_row_came_from_and_is_keyed() -> None:
    for table in registry.CAPTURED.values():
        assert [c[0] for c in table.columns[-3:]] == ["source_lsn", "source_tx_id", "changed_at"]
        assert table.key and all(name in table.column_names() for name in table.key)
        assert {column for column, _, _ in table.masked} <= set(table.column_names())

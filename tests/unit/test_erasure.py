"""Erasure without services: which statements run for which tables, what is refused, and which files
become deletable when snapshots expire."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from flowlake.errors import FlowlakeError
from flowlake.privacy import REQUEST_ID, erasure_statements, user_token
from iceberg.expiry import Reach, expire, unreachable
from iceberg.tables import ALL_TABLES


def test_every_table_that_holds_a_person_is_erased_bronze_and_quarantine_by_the_raw_payload() -> None:
    tables = [table for table, _ in erasure_statements("U00042", "lakehouse")]
    keyed = {spec.identifier for spec in ALL_TABLES if "user_id" in {f.name for f in spec.schema.fields}}
    assert keyed <= set(tables), keyed - set(tables)  # iceberg/registry.py: person
    assert {"bronze.events", "quarantine.events", "gold.late_events"} <= set(tables)
    assert tables.index("gold.late_events") < min(tables.index(t) for t in tables if t.startswith("silver."))
    statements = dict(erasure_statements("U00042", "lakehouse"))
    assert "payload" in statements["bronze.events"] and "U00042" in statements["bronze.events"]
    assert statements["silver.orders"].startswith("DELETE FROM lakehouse.silver.orders WHERE user_id = 'U00042'")


def test_statements_follow_the_configured_catalog() -> None:
    for table, sql in erasure_statements("U00042", "prod"):
        assert f"DELETE FROM prod.{table}" in sql and "lakehouse." not in sql


@pytest.mark.parametrize("user_id", ["U00001' OR '1'='1", "u00001", "U0001", "", "U00001\n", "*"])
def test_anything_but_a_user_id_is_refused_before_it_reaches_sql(user_id: str) -> None:
    with pytest.raises(FlowlakeError, match="is not a user id"):
        erasure_statements(user_id, "lakehouse")


def test_request_ids_are_event_ids_with_an_intent() -> None:
    assert REQUEST_ID.match("7d3f5a52-8c1e-4b7e-9a53-2f4f1c3e9b10/ERASURE")
    assert not REQUEST_ID.match("7d3f5a52-8c1e-4b7e-9a53-2f4f1c3e9b10/ERASURE' OR 1=1")


def test_the_user_token_is_the_jobs_keyed_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowlake.config import Settings
    from udfs.masking import HASH_KEY_ENV, hash_token

    monkeypatch.setenv(HASH_KEY_ENV, "k1")
    token = user_token(Settings(), "U00042")
    assert token == hash_token("U00042", "USER_ID", b"k1") and "U00042" not in token
    monkeypatch.setenv(HASH_KEY_ENV, "k2")
    assert user_token(Settings(), "U00042") != token


def _reach(name: str, manifests: set[str], live: set[str], removed: frozenset[str] = frozenset()) -> Reach:
    return Reach(f"{name}.avro", frozenset(manifests), frozenset(live), removed)


def test_only_files_no_retained_snapshot_reaches_are_deleted() -> None:
    # s1 appends a, b; s2 deletes rows of b (position delete d); s3 rewrites a, b (with d) into c.
    s1 = _reach("snap-1", {"m1"}, {"a", "b"})
    s2 = _reach("snap-2", {"m1", "m2"}, {"a", "b", "d"})
    s3 = _reach("snap-3", {"m3"}, {"c"}, removed=frozenset({"a", "b", "d"}))
    assert unreachable([s1, s2], [s3]) == {"snap-1.avro", "snap-2.avro", "m1", "m2", "a", "b", "d"}
    # A file still live in a retained snapshot stays, even if an expired one removed it.
    s4 = _reach("snap-4", {"m3", "m4"}, {"c", "e"})
    assert unreachable([s3], [s4]) == {"snap-3.avro", "a", "b", "d"}
    assert unreachable([], [s1, s2, s3]) == set()


def test_expiring_in_steps_tolerates_files_an_earlier_expiry_deleted(tmp_path: Path) -> None:
    """A file removed by a kept snapshot is deleted with the older snapshots that held it, and listed
    again when that snapshot expires later: the second expiry goes through and deletes only what exists."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import EqualTo

    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=tmp_path.as_uri())
    catalog.create_namespace("n")
    table = catalog.create_table("n.t", pa.schema([pa.field("id", pa.int64(), nullable=False)]))
    for ids in ([1], [2]):
        table.append(pa.table({"id": ids}, schema=table.schema().as_arrow()))
    table.delete(EqualTo("id", 1))  # the file holding 1 is removed: a DELETED entry in this snapshot
    first, second, removing = [s.snapshot_id for s in table.metadata.snapshots]
    table.append(pa.table({"id": [3]}, schema=table.schema().as_arrow()))

    expired, deleted = expire(lambda: catalog.load_table("n.t"), [first, second])
    assert expired == 2 and deleted and all(not Path(urlparse(f).path).exists() for f in deleted)
    expired, deleted_later = expire(lambda: catalog.load_table("n.t"), [removing])
    assert expired == 1 and not set(deleted) & set(deleted_later)
    assert sorted(catalog.load_table("n.t").scan().to_arrow()["id"].to_pylist()) == [2, 3]


def test_a_delete_that_lost_its_commit_to_the_stream_runs_again_and_nothing_else_does() -> None:
    from flowlake.clients.trino import QueryRejected
    from flowlake.privacy import retrying_commit

    calls: list[int] = []

    def lost_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise QueryRejected("Trino rejected the query (ICEBERG_COMMIT_ERROR)", "ICEBERG_COMMIT_ERROR")
        return "deleted"

    assert retrying_commit(lost_twice, pause=0) == "deleted" and len(calls) == 3

    def denied() -> str:
        calls.append(1)
        raise QueryRejected("Trino rejected the query (PERMISSION_DENIED)", "PERMISSION_DENIED")

    calls.clear()
    with pytest.raises(QueryRejected, match="PERMISSION_DENIED"):
        retrying_commit(denied, pause=0)
    assert len(calls) == 1

    def always_lost() -> str:
        calls.append(1)
        raise QueryRejected("Trino rejected the query (ICEBERG_COMMIT_ERROR)", "ICEBERG_COMMIT_ERROR")

    calls.clear()
    with pytest.raises(QueryRejected, match="ICEBERG_COMMIT_ERROR"):
        retrying_commit(always_lost, attempts=2, pause=0)
    assert len(calls) == 2

"""Stratified samples (flowlake/sample.py): the query each option makes, and its refusals. Against real
tables: tests/integration/test_quality.py."""

from __future__ import annotations

import pytest

from flowlake.errors import FlowlakeError
from flowlake.sample import Stratum, sample_sql, strata
from iceberg.registry import BRONZE_EVENTS, SILVER_SUPPORT_MESSAGES


def test_per_stratum_fraction_and_balance_take_what_they_say() -> None:
    table = SILVER_SUPPORT_MESSAGES
    per = sample_sql(table, ["country", "channel"], "lakehouse", 7, seed=3, per_stratum=50)
    assert "least(50, stratum_rows) AS own_take" in per and "own_take AS stratum_take" in per
    assert 'PARTITION BY "country", "channel"' in per and "FOR VERSION AS OF 7" in per
    assert "xxhash64(to_utf8('3|' || " in per
    share = sample_sql(table, ["channel"], "lakehouse", None, seed=3, fraction=0.1)
    assert "CAST(ceil(stratum_rows * 0.1) AS bigint)" in share and "VERSION" not in share
    balanced = sample_sql(table, ["channel"], "lakehouse", 7, seed=3, fraction=0.5, balance=True)
    assert "min(own_take) OVER () AS stratum_take" in balanced


def test_the_hash_covers_every_flat_column_binary_as_hex() -> None:
    sql = sample_sql(BRONZE_EVENTS, ["source_topic"], "lakehouse", 1, seed=1, per_stratum=1)
    assert "to_hex(\"payload\")" in sql and 'CAST("source_offset" AS varchar)' in sql
    assert '"headers" AS varchar' not in sql  # a map: not hashed


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": ["contry"], "per_stratum": 5}, "has columns"),
    ({"by": ["country"]}, "one of --fraction"),
    ({"by": ["country"], "fraction": 0.5, "per_stratum": 5}, "one of --fraction"),
    ({"by": ["country"], "fraction": 1.5}, "at most 1"),
    ({"by": ["country"], "per_stratum": 0}, "at least 1"),
])
def test_wrong_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FlowlakeError, match=message):
        sample_sql(SILVER_SUPPORT_MESSAGES, catalog="lakehouse", snapshot=None, seed=1, **kwargs)  # type: ignore[arg-type]


def test_strata_are_read_from_the_sampled_rows() -> None:
    columns = ["a", "b"]
    rows = [["x", 1, 10, 2], ["x", 2, 10, 2], ["y", 3, 4, 2], ["y", 4, 4, 2]]
    assert strata(["a"], columns, rows) == [Stratum(("x",), 10, 2), Stratum(("y",), 4, 2)]

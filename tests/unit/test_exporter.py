from __future__ import annotations

from flowlake.exporter import PartitionLag, lags


def test_lag_is_end_minus_committed_per_partition() -> None:
    committed = {"g-b": {("events", 1): 40, ("events", 0): 90}, "g-a": {("events", 0): 100}}
    ends = {("events", 0): 100, ("events", 1): 50}
    assert [(x.group, x.partition, x.lag) for x in lags(committed, ends)] == [
        ("g-a", 0, 0), ("g-b", 0, 10), ("g-b", 1, 10)]


def test_partitions_without_a_commit_or_an_end_are_left_out() -> None:
    committed = {"g": {("events", 0): -1001, ("gone", 0): 5, ("events", 1): 3}}
    assert lags(committed, {("events", 0): 10, ("events", 1): 3}) == [PartitionLag("g", "events", 1, 3, 3)]


def test_a_commit_beyond_the_stable_end_is_no_negative_lag() -> None:
    assert PartitionLag("g", "t", 0, committed=12, end=10).lag == 0

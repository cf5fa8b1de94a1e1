from __future__ import annotations

import pytest

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


def test_every_intent_has_deadlines_the_ones_without_open_requests_zero() -> None:
    from datetime import UTC, datetime

    from flowlake.exporter import Deadlines, deadlines

    due = datetime(2026, 11, 1, tzinfo=UTC)
    found = deadlines([["ACCESS", 3, 1, due]], ("ERASURE", "ACCESS"))
    assert found == {"ERASURE": Deadlines(0, 0, None), "ACCESS": Deadlines(3, 1, due.timestamp())}


def test_privacy_deadlines_are_read_at_most_once_per_interval_and_trino_down_is_a_zero(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import flowlake.clients.trino
    from flowlake.config import Settings
    from flowlake.exporter import PrivacyDeadlineCollector

    calls: list[str] = []
    answer: list[object] = [[["ERASURE", 2, 2, None]]]

    def fake_query(settings: Settings, sql: str) -> tuple[list[str], object]:
        calls.append(sql)
        if isinstance(answer[0], Exception):
            raise answer[0]
        return [], answer[0]

    monkeypatch.setattr(flowlake.clients.trino, "query", fake_query)
    now = [1000.0]
    collector = PrivacyDeadlineCollector(Settings(catalog_name="prod", privacy_metrics_interval_seconds=60),
                                         clock=lambda: now[0])

    def scrape() -> dict[tuple[str, str], float]:
        return {(m.name, s.labels.get("intent", "")): s.value for m in collector.collect() for s in m.samples}

    first = scrape()
    assert first[("flowlake_privacy_requests_overdue", "ERASURE")] == 2
    assert first[("flowlake_privacy_requests_open", "ACCESS")] == 0
    assert first[("flowlake_privacy_requests_read_ok", "")] == 1
    assert "FROM prod.gold.privacy_requests" in calls[0] and "status = 'OPEN'" in calls[0]
    now[0] += 30
    assert scrape() == first and len(calls) == 1  # cached
    now[0] += 31
    answer[0] = ConnectionError("Trino not reachable")
    down = scrape()
    assert len(calls) == 2 and down == {("flowlake_privacy_requests_read_ok", ""): 0}


def test_each_collectors_time_is_a_labelled_series_and_a_slow_one_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    import time

    from prometheus_client.core import GaugeMetricFamily

    from flowlake.exporter import Timed

    class Fixed:
        def __init__(self, name: str, sleep: float) -> None:
            self.name, self.sleep = name, sleep

        def collect(self):  # type: ignore[no-untyped-def]
            time.sleep(self.sleep)
            yield GaugeMetricFamily(f"x_{self.name}", "x", value=1)

    timed = Timed({"fast": Fixed("fast", 0), "slow": Fixed("slow", 0.05)})  # type: ignore[dict-item]
    timed.SLOW_SECONDS = 0.04
    with caplog.at_level("WARNING", logger="flowlake.exporter"):
        families = {f.name: f for f in timed.collect()}
    assert {"x_fast", "x_slow", "flowlake_exporter_collect_seconds"} <= set(families)
    took = {s.labels["collector"]: s.value for s in families["flowlake_exporter_collect_seconds"].samples}
    assert took["fast"] < 0.04 <= took["slow"]
    assert [r.getMessage()[:20] for r in caplog.records] == ["collecting slow took"]

"""The maintenance policy and its decisions (iceberg/maintenance.py): no services needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iceberg.maintenance import (
    ListedFile,
    MaintenancePolicy,
    PolicyError,
    SnapshotInfo,
    check_orphan_safety,
    cron_fields,
    expire_before_ms,
    load_policies,
    next_run,
    normalize_location,
    partitions_to_compact,
    policy_for,
    select_orphans,
    writers_last_snapshots,
)
from iceberg.tables import ALL_TABLES

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_the_shipped_policy_file_loads_and_names_only_real_tables() -> None:
    default, tables = load_policies()
    assert set(tables) <= {spec.identifier for spec in ALL_TABLES}
    assert policy_for("bronze.events").snapshot_max_age_hours < default.snapshot_max_age_hours
    assert policy_for("gold.revenue_per_minute").retention_days == default.retention_days == 0
    assert policy_for("gold.funnel_hourly").target_file_size_mb == default.target_file_size_mb  # defaults filled in


def test_raw_personal_data_has_a_short_retention_the_record_of_requests_none() -> None:
    from iceberg import registry

    for identifier in ("bronze.events", "quarantine.events", "bronze.cdc_changes"):
        assert 0 < policy_for(identifier).retention_days <= 30, identifier  # below the 30-day erasure deadline
    for table in registry.TABLES:
        policy = policy_for(table.identifier)
        if table is registry.GOLD_CONSENT:
            # A withdrawn consent must not lapse: kept as long as the person is (erasure removes it).
            assert policy.retention_days == 0
        elif table.captured:
            # The source's current rows: a row leaves when it leaves the source (a delete propagates).
            assert policy.retention_days == 0 and table.partition is None, table.identifier
        elif table.person in (registry.BY_USER_ID, registry.BY_EVENT_ID, registry.BY_RAW_PAYLOAD):
            assert policy.retention_days > 0, table.identifier  # every table holding a person has one
        if table.person == registry.KEPT:
            assert policy.retention_days == 0, table.identifier


def test_policy_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[default]\ntarget_file_size = 64\n')
    with pytest.raises(PolicyError, match="target_file_size"):
        load_policies(path)
    path.write_text('[default]\nschedule = "61 * * * *"\n')
    with pytest.raises(PolicyError, match="61"):
        load_policies(path)
    policy = MaintenancePolicy(min_input_files=3)
    assert MaintenancePolicy.from_json(policy.to_json()) == policy


def test_orphan_age_below_ten_checkpoints_is_refused() -> None:
    check_orphan_safety(MaintenancePolicy(orphan_min_age_hours=1), checkpoint_interval_seconds=60)
    with pytest.raises(PolicyError, match="checkpoint"):
        check_orphan_safety(MaintenancePolicy(orphan_min_age_hours=0.1), checkpoint_interval_seconds=60)


def test_partitions_with_enough_files_within_the_lookback_are_compacted() -> None:
    files = {"day=2026-11-22": 9, "day=2026-11-10": 9, "day=2026-11-21": 2, "none": 5}
    days = {"day=2026-11-22": datetime(2026, 11, 22, tzinfo=UTC), "day=2026-11-10": datetime(2026, 11, 10, tzinfo=UTC),
            "day=2026-11-21": datetime(2026, 11, 21, tzinfo=UTC), "none": None}
    assert partitions_to_compact(files, MaintenancePolicy(min_input_files=5), days, NOW) == [
        "day=2026-11-10", "day=2026-11-22", "none"]
    assert partitions_to_compact(files, MaintenancePolicy(min_input_files=5, lookback_days=3), days, NOW) == [
        "day=2026-11-22", "none"]


def test_a_partition_holding_delete_files_is_compacted_whatever_its_file_count() -> None:
    files = {"": 1, "day=2026-11-21": 2, "day=2026-11-01": 1}
    days = {"": None, "day=2026-11-21": datetime(2026, 11, 21, tzinfo=UTC),
            "day=2026-11-01": datetime(2026, 11, 1, tzinfo=UTC)}
    policy = MaintenancePolicy(min_input_files=5, lookback_days=3)
    assert partitions_to_compact(files, policy, days, NOW) == []
    assert partitions_to_compact(files, policy, days, NOW,
                                 frozenset({"", "day=2026-11-21", "day=2026-11-01"})) == ["", "day=2026-11-21"]


def test_expiry_never_passes_a_running_writers_last_snapshot() -> None:
    old = NOW - timedelta(days=3)
    snapshots = [
        SnapshotInfo(1, ms(old), "job-a", "op"),                       # job-a's last, job-a runs
        SnapshotInfo(2, ms(old + timedelta(hours=1)), "job-b", "op"),  # job-b is gone
        SnapshotInfo(3, ms(NOW - timedelta(minutes=5)), "job-c", "op"),
        SnapshotInfo(4, ms(NOW - timedelta(minutes=1)), "job-c", "op"),
        SnapshotInfo(5, ms(old - timedelta(hours=1)), "job-a", "op"),
    ]
    protected = writers_last_snapshots(snapshots, running_jobs={"job-a", "job-c"})
    assert protected == {("job-a", "op"): 1, ("job-c", "op"): 4}
    assert expire_before_ms(snapshots, MaintenancePolicy(snapshot_max_age_hours=24), NOW, protected.values()) == ms(old)
    # Without a running writer far behind, the policy's age decides.
    day = MaintenancePolicy(snapshot_max_age_hours=24)
    assert expire_before_ms(snapshots, day, NOW, [4]) == ms(NOW - timedelta(hours=24))


def test_orphans_are_unreferenced_and_old_enough() -> None:
    old, young = ms(NOW - timedelta(hours=5)), ms(NOW - timedelta(minutes=5))
    listed = [ListedFile("file:/w/t/data/a.parquet", 10, old),      # referenced, spelled differently
              ListedFile("file:///w/t/data/b.parquet", 10, old),    # orphan
              ListedFile("file:/w/t/data/c.parquet", 10, young),    # unreferenced but young
              ListedFile("file:/w/t/metadata/v3.metadata.json", 10, old)]
    reachable = ["file:///w/t/data/a.parquet", "/w/t/metadata/v3.metadata.json"]
    orphans = select_orphans(listed, reachable, MaintenancePolicy(orphan_min_age_hours=1), NOW)
    assert [f.location for f in orphans] == ["file:///w/t/data/b.parquet"]


def test_normalize_location() -> None:
    assert normalize_location("file:/a//b") == normalize_location("file:///a/b") == normalize_location("/a/b")
    assert normalize_location("s3a://bucket/k/x") == "s3://bucket/k/x"


def test_cron_fields_and_next_run() -> None:
    assert cron_fields("*/15 2-4 * * 1,3")[0] == {0, 15, 30, 45}
    assert cron_fields("0 0 * * 7")[4] == {0}
    assert next_run("7 * * * *", NOW) == NOW.replace(minute=7)
    assert next_run("7 * * * *", NOW.replace(minute=7)) == NOW.replace(hour=13, minute=7)
    assert next_run("0 3 * * *", NOW) == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert next_run("30 1 1 * *", NOW) == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    assert next_run("0 0 * * 0", NOW) == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # 2026-11-22 is a Sunday
    assert next_run("0 0 1 * 1", NOW) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday, or the 1st
    for bad in ("* * * *", "60 * * * *", "a * * * *", "*/0 * * * *"):
        with pytest.raises(PolicyError):
            cron_fields(bad)


@given(st.sampled_from(["*/5 * * * *", "7 * * * *", "0 3 * * *", "15 10 * * 1-5", "0 0 1 */2 *"]),
       st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1),  # noqa: DTZ001 - naive bounds
                    timezones=st.just(UTC)))
def test_next_run_matches_and_nothing_earlier_does(expression: str, after: datetime) -> None:
    minutes, hours, days, months, weekdays = cron_fields(expression)
    found = next_run(expression, after)

    def matches(m: datetime) -> bool:
        day_any, weekday_any = expression.split()[2] == "*", expression.split()[4] == "*"
        day_ok = day_any or m.day in days
        weekday_ok = weekday_any or (m.weekday() + 1) % 7 in weekdays
        days_ok = (day_ok and weekday_ok) if (day_any or weekday_any) else (day_ok or weekday_ok)
        return m.minute in minutes and m.hour in hours and m.month in months and days_ok

    assert found > after and matches(found)
    probe = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    steps = 0
    while probe < found and steps < 2000:  # the minutes just after `after` do not match
        assert not matches(probe)
        probe += timedelta(minutes=1)
        steps += 1


def test_reports_are_read_from_the_job_output_and_summarised() -> None:
    from flowlake.maintain import Metrics, parse_reports, summary

    report = {"table": "bronze.events", "data_files_before": 40, "data_files_after": 2, "bytes_before": 4000,
              "bytes_after": 3900, "max_files_per_partition_before": 20, "max_files_per_partition_after": 1,
              "files_rewritten": 40, "snapshots_expired": 7, "snapshots_after": 3, "writer_snapshots_kept": 1,
              "orphans_removed": 2, "orphan_bytes_removed": 10, "manifests_before": 60, "manifests_after": 1,
              "seconds": 12.5, "compact_seconds": 9.0}
    output = "log line\n2026-11-22 INFO MAINTENANCE_REPORT " + json.dumps(report) + "\nother\n"
    assert parse_reports(output) == [report]
    line = summary(report)
    assert "data files 40 -> 2" in line and "snapshots expired 7" in line and "orphans removed 2" in line
    metrics = Metrics()
    metrics.observe(report)
    assert metrics.registry.get_sample_value("flowlake_maintenance_files_rewritten_total",
                                             {"table": "bronze.events"}) == 40
    assert metrics.registry.get_sample_value("flowlake_maintenance_runs_total",
                                             {"table": "bronze.events", "outcome": "ok"}) == 1


def test_the_scheduler_picks_the_tables_whose_schedule_fires_first() -> None:
    from flowlake.maintain import due, policies

    when, tables = due({"a.x": "0 * * * *", "b.y": "30 * * * *", "c.z": "0 * * * *"}, NOW.replace(minute=45))
    assert when == NOW.replace(hour=13, minute=0) and tables == ["a.x", "c.z"]
    assert set(policies()) == {spec.identifier for spec in ALL_TABLES}
    with pytest.raises(Exception, match="unknown tables"):
        policies(["bronze.nope"])


def test_the_kubernetes_cronjob_runs_the_same_job_on_every_table() -> None:
    import yaml

    repo = Path(__file__).resolve().parents[2]
    cronjob = yaml.safe_load((repo / "deploy" / "k8s" / "base" / "maintenance-cronjob.yaml").read_text())
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--python") + 1] == "/opt/flowlake/flink_jobs/maintain.py"
    assert (repo / "flink_jobs" / "maintain.py").exists() and (repo / "iceberg" / "maintenance.toml").exists()
    assert "--tables" not in args  # every table of the registry, so a new table needs no edit there
    cron_fields(cronjob["spec"]["schedule"])
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert {"secretRef": {"name": "flowlake-secrets"}} in container["envFrom"]  # the catalog password


def test_retention_deletes_whole_days_before_the_cutoff_and_needs_a_day_partition(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from iceberg.maintenance import MaintenancePolicy, check_retention, retention_cutoff

    now = datetime(2026, 12, 6, 13, 45, tzinfo=UTC)
    assert retention_cutoff(MaintenancePolicy(retention_days=30), now) == datetime(2026, 11, 6, tzinfo=UTC)
    assert retention_cutoff(MaintenancePolicy(), now) is None
    with pytest.raises(PolicyError, match="partitioned by day"):
        check_retention("audit.erasures", MaintenancePolicy(retention_days=7), None)
    check_retention("bronze.events", MaintenancePolicy(retention_days=7), "source_timestamp")
    path = tmp_path / "policy.toml"
    path.write_text("[default]\nretention_days = -1\n")
    with pytest.raises(PolicyError, match="retention_days"):
        load_policies(path)

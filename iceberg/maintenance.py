"""Table maintenance policy and the decisions made from it, as pure functions: which partitions to
compact, up to when snapshots may expire, which files are orphans, when a schedule fires.

Standard library (and the error root, udfs.errors) only: the maintenance job (flink_jobs/maintain.py)
imports this in the job environment, where PyIceberg is not installed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from udfs.errors import FlowlakeError, read_toml

POLICY_FILE = Path(__file__).resolve().parent / "maintenance.toml"
# Orphans younger than this many checkpoint intervals are never removed, whatever the policy says: a
# writer's files stay unreferenced until the checkpoint that commits them completes.
ORPHAN_SAFETY_CHECKPOINTS = 10


class PolicyError(FlowlakeError, ValueError):
    pass


@dataclass(frozen=True)
class MaintenancePolicy:
    schedule: str = "7 * * * *"
    target_file_size_mb: int = 128
    min_input_files: int = 5
    lookback_days: int = 0
    snapshot_max_age_hours: float = 24
    min_snapshots_to_keep: int = 20
    orphan_min_age_hours: float = 72
    rewrite_manifests_above: int = 50
    # Rows whose partition day is older than this many days are deleted (0: kept for ever).
    retention_days: int = 0

    @property
    def target_file_size_bytes(self) -> int:
        return self.target_file_size_mb * 1024 * 1024

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> MaintenancePolicy:
        return _policy(cls(), values, "policy")


def _policy(base: MaintenancePolicy, values: dict[str, Any], where: str) -> MaintenancePolicy:
    known = {f.name: f.type for f in fields(MaintenancePolicy)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise PolicyError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    policy = replace(base, **values)
    if policy.min_input_files < 2 or policy.target_file_size_mb < 1 or policy.min_snapshots_to_keep < 1:
        raise PolicyError(f"{where}: min_input_files >= 2, target_file_size_mb >= 1 and "
                          "min_snapshots_to_keep >= 1 are required")
    if policy.retention_days < 0:
        raise PolicyError(f"{where}: retention_days must be 0 (keep for ever) or a number of days")
    cron_fields(policy.schedule)  # raises on a bad expression
    return policy


def load_policies(path: Path = POLICY_FILE) -> tuple[MaintenancePolicy, dict[str, MaintenancePolicy]]:
    """The default policy and the per-table ones (identifier -> policy, defaults filled in)."""
    data = read_toml(path, PolicyError, "maintenance policies")
    default = _policy(MaintenancePolicy(), data.get("default", {}), f"{path} [default]")
    tables = {name: _policy(default, values, f"{path} [tables.{name!r}]")
              for name, values in data.get("tables", {}).items()}
    return default, tables


def policy_for(identifier: str, path: Path = POLICY_FILE) -> MaintenancePolicy:
    default, tables = load_policies(path)
    return tables.get(identifier, default)


def check_orphan_safety(policy: MaintenancePolicy, checkpoint_interval_seconds: float) -> None:
    floor = ORPHAN_SAFETY_CHECKPOINTS * checkpoint_interval_seconds
    if policy.orphan_min_age_hours * 3600 < floor:
        raise PolicyError(f"orphan_min_age_hours = {policy.orphan_min_age_hours} is below "
                          f"{ORPHAN_SAFETY_CHECKPOINTS} checkpoint intervals ({floor:.0f} s): files of a "
                          "commit in flight could be deleted. Raise it in iceberg/maintenance.toml")


# --- compaction ---------------------------------------------------------------------------------

def partitions_to_compact(files_per_partition: dict[str, int], policy: MaintenancePolicy,
                          partition_days: dict[str, datetime | None], now: datetime,
                          with_deletes: frozenset[str] = frozenset()) -> list[str]:
    """Partitions with at least min_input_files files or with delete files (an upsert table's equality
    deletes: each is read against every older data file until a rewrite applies it), within
    lookback_days of `now` when set (a partition without a day is always considered)."""
    oldest = now - timedelta(days=policy.lookback_days) if policy.lookback_days else None
    chosen = []
    for partition, count in sorted(files_per_partition.items()):
        day = partition_days.get(partition)
        wanted = count >= policy.min_input_files or partition in with_deletes
        if wanted and (oldest is None or day is None or day >= _midnight(oldest)):
            chosen.append(partition)
    return chosen


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- retention ----------------------------------------------------------------------------------

def retention_cutoff(policy: MaintenancePolicy, now: datetime) -> datetime | None:
    """Rows of partition days before this midnight (UTC) go; None: the table keeps everything. Whole days,
    so that a day partition is deleted whole, from the metadata alone."""
    return _midnight(now - timedelta(days=policy.retention_days)) if policy.retention_days else None


def check_retention(identifier: str, policy: MaintenancePolicy, partition_column: str | None) -> None:
    if policy.retention_days and partition_column is None:
        raise PolicyError(f"{identifier}: retention_days needs a table partitioned by day; this one is not "
                          "(iceberg/registry.py)")


# --- snapshot expiry ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    timestamp_ms: int
    flink_job_id: str | None
    flink_operator_id: str | None


def writers_last_snapshots(snapshots: Iterable[SnapshotInfo], running_jobs: set[str]) -> dict[tuple[str, str], int]:
    """(Flink job id, operator id) -> the newest snapshot that writer committed, for running jobs.
    A writer restored from a checkpoint looks for it to learn which checkpoints it already committed:
    without it, it would commit them a second time."""
    last: dict[tuple[str, str], SnapshotInfo] = {}
    for snapshot in snapshots:
        if snapshot.flink_job_id in running_jobs:
            key = (snapshot.flink_job_id, snapshot.flink_operator_id or "")
            if key not in last or snapshot.timestamp_ms > last[key].timestamp_ms:
                last[key] = snapshot
    return {key: snapshot.snapshot_id for key, snapshot in last.items()}


def expire_before_ms(snapshots: Iterable[SnapshotInfo], policy: MaintenancePolicy, now: datetime,
                     protected: Iterable[int]) -> int:
    """The expiry cutoff (epoch ms): the policy's age, moved back so that no protected snapshot is
    older than it (expiry keeps every snapshot at or after the cutoff)."""
    cutoff = int((now - timedelta(hours=policy.snapshot_max_age_hours)).timestamp() * 1000)
    times = {s.snapshot_id: s.timestamp_ms for s in snapshots}
    protected_times = [times[i] for i in protected if i in times]
    return min([cutoff, *protected_times])


# --- orphan files -------------------------------------------------------------------------------

def normalize_location(location: str) -> str:
    """One spelling per file: file:/a, file:///a and /a are the same; s3a:// is s3://."""
    parsed = urlparse(location)
    scheme = {"": "file", "s3a": "s3", "s3n": "s3"}.get(parsed.scheme, parsed.scheme)
    path = "/" + "/".join(part for part in parsed.path.split("/") if part)
    return f"{scheme}://{parsed.netloc}{path}"


@dataclass(frozen=True)
class ListedFile:
    location: str
    size: int
    modified_ms: int


def select_orphans(listed: Iterable[ListedFile], reachable: Iterable[str], policy: MaintenancePolicy,
                   now: datetime) -> list[ListedFile]:
    """Files under the table's location that no snapshot or metadata file references and that are
    older than orphan_min_age_hours."""
    known = {normalize_location(r) for r in reachable}
    before_ms = int((now - timedelta(hours=policy.orphan_min_age_hours)).timestamp() * 1000)
    return [f for f in listed if normalize_location(f.location) not in known and f.modified_ms < before_ms]


# --- schedules ----------------------------------------------------------------------------------

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def cron_fields(expression: str) -> tuple[frozenset[int], ...]:
    """The allowed values of the five fields of a cron expression (*, lists, ranges, steps; day of
    week 0-6 with 7 also Sunday)."""
    parts = expression.split()
    if len(parts) != 5:
        raise PolicyError(f"cron expression {expression!r}: five fields expected (minute hour day month weekday)")
    result = []
    for part, (low, high) in zip(parts, _RANGES, strict=True):
        values: set[int] = set()
        for item in part.split(","):
            base, _, step_text = item.partition("/")
            try:
                step = int(step_text) if step_text else 1
                if base == "*":
                    first, last = low, high
                elif "-" in base:
                    first, last = (int(v) for v in base.split("-", 1))
                else:
                    first = int(base)
                    last = high if step_text else first
            except ValueError:
                raise PolicyError(f"cron expression {expression!r}: cannot read {item!r}") from None
            if high == 6 and last == 7:  # 7 is Sunday too
                values.add(0)
                if first == 7:
                    continue
                last = 6
            if not (low <= first <= last <= high) or step < 1:
                raise PolicyError(f"cron expression {expression!r}: {item!r} outside {low}-{high}")
            values.update(range(first, last + 1, step))
        result.append(frozenset(values))
    return tuple(result)


def next_run(expression: str, after: datetime) -> datetime:
    """The first minute strictly after `after` (UTC) that the expression matches. Day of month and
    day of week combine as in cron: when both are restricted, either one matching is enough."""
    minutes, hours, days, months, weekdays = cron_fields(expression)
    parts = expression.split()
    day_any, weekday_any = parts[2] == "*", parts[4] == "*"
    moment = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        if moment.month not in months:
            moment = (moment.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        weekday = (moment.weekday() + 1) % 7  # cron: 0 is Sunday
        day_ok = (moment.day in days if not day_any else True, weekday in weekdays if not weekday_any else True)
        if not (all(day_ok) if day_any or weekday_any else any(day_ok)):
            moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if moment.hour not in hours:
            moment = moment.replace(minute=0) + timedelta(hours=1)
            continue
        if moment.minute in minutes:
            return moment
        moment += timedelta(minutes=1)
    raise PolicyError(f"cron expression {expression!r} never fires")

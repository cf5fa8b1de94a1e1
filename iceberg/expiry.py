"""Expire chosen snapshots of a table and delete the files only they reach: what makes a row-level
delete physical. Iceberg's own expiry works by age; an erasure needs exactly the snapshots before its
rewrite gone, and nothing else (a streaming writer's newer snapshots stay)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iceberg.maintenance import SnapshotInfo

DELETED = 2  # ManifestEntryStatus.DELETED: the file was removed by the snapshot that wrote the entry

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot


@dataclass(frozen=True)
class Reach:
    """The files one snapshot reaches: its manifest list, its manifests, and the data and delete files
    live in it (`live`) or recorded as removed by it (`removed`, still on disk until expiry)."""

    manifest_list: str
    manifests: frozenset[str]
    live: frozenset[str]
    removed: frozenset[str]


def unreachable(expired: Iterable[Reach], retained: Iterable[Reach]) -> set[str]:
    """Files that the expired snapshots reach and no retained snapshot does: safe to delete."""
    kept: set[str] = set()
    for reach in retained:
        kept |= {reach.manifest_list, *reach.manifests, *reach.live}
    gone: set[str] = set()
    for reach in expired:
        gone |= {reach.manifest_list, *reach.manifests, *reach.live, *reach.removed}
    return gone - kept


def snapshot_infos(table: Table) -> list[SnapshotInfo]:
    """Each snapshot with the Flink writer that committed it, if one did."""
    infos = []
    for snapshot in table.metadata.snapshots:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        infos.append(SnapshotInfo(snapshot.snapshot_id, snapshot.timestamp_ms, summary.get("flink.job-id"),
                                  summary.get("flink.operator-id")))
    return infos


def older_than(table: Table, snapshot_id: int) -> list[int]:
    """The snapshots committed before `snapshot_id` (by sequence number, not by clock)."""
    anchor = table.metadata.snapshot_by_id(snapshot_id)
    if anchor is None:
        raise ValueError(f"{table.name()}: no snapshot {snapshot_id}")
    return [s.snapshot_id for s in table.metadata.snapshots if (s.sequence_number or 0) < (anchor.sequence_number or 0)]


def _reach(table: Table, snapshot: Snapshot, cache: dict[str, list[tuple[int, str]]]) -> Reach:
    manifests = snapshot.manifests(table.io)
    live: set[str] = set()
    removed: set[str] = set()
    for manifest in manifests:
        if manifest.manifest_path not in cache:  # manifests are shared by many snapshots: read each once
            entries = manifest.fetch_manifest_entry(table.io, discard_deleted=False)
            cache[manifest.manifest_path] = [(int(entry.status), entry.data_file.file_path) for entry in entries]
        for status, path in cache[manifest.manifest_path]:
            (removed if status == DELETED else live).add(path)
    return Reach(snapshot.manifest_list, frozenset(m.manifest_path for m in manifests), frozenset(live),
                 frozenset(removed))


def _delete(table: Table, path: str) -> bool:
    """Delete a file; False if it is gone already. A file that an earlier expiry deleted can still be
    listed as removed in a manifest of a snapshot that expiry kept: it comes up again when that one goes."""
    try:
        table.io.delete(path)
    except FileNotFoundError:
        return False
    return True


def expire(load: Callable[[], Table], snapshot_ids: Iterable[int], attempts: int = 10) -> tuple[int, list[str]]:
    """Expire the snapshots (never the current one) and delete the files only they reached; returns the
    number of snapshots expired and the files deleted. `load` gives the table afresh: a streaming
    writer that commits meanwhile makes the expiry commit fail, and it is tried again."""
    from pyiceberg.exceptions import CommitFailedException

    wanted = set(snapshot_ids)
    cache: dict[str, list[tuple[int, str]]] = {}
    for attempt in range(1, attempts + 1):
        table = load()
        doomed = {s.snapshot_id for s in table.metadata.snapshots} & wanted - {table.metadata.current_snapshot_id}
        if not doomed:
            return 0, []
        reaches = {s.snapshot_id: _reach(table, s, cache) for s in table.metadata.snapshots}
        files = unreachable((reaches[i] for i in doomed), (r for i, r in reaches.items() if i not in doomed))
        try:
            table.maintenance.expire_snapshots().by_ids(sorted(doomed)).commit()
        except CommitFailedException:
            if attempt == attempts:
                raise
            continue
        deleted = [path for path in sorted(files) if _delete(table, path)]
        return len(doomed), deleted
    raise AssertionError("unreachable")

"""`flowlake privacy`: the privacy requests the medallion job found in support messages
(gold.privacy_requests), erasure of a person from every layer, physically, with an audit row, and
requests closed by hand (`resolve`, audit.request_resolutions). Access exports: flowlake/privacy_export.py.

Erasure, for one user_id:
1. delete their rows through Trino, as an engineer, from every table the registry (iceberg/registry.py)
   says holds a person, the way it says to find them (sql/trino/erase/: bronze and quarantine by the
   user_id inside the raw payload, silver and person-keyed gold by column, late events by event id);
2. rewrite each touched table (Trino's optimize rewrites every data file with deletes; the upsert tables of
   captured databases are compacted by flowlake's maintenance, which also drops their applied equality
   deletes), so that the current snapshot reaches no file holding the rows;
3. wait until every running Flink writer of the table has committed after that rewrite: a writer
   restored from a checkpoint finds what it already committed in its own newest snapshot, so that
   snapshot must never be expired (the maintenance safety rule) - and it must not hold the rows;
4. expire every snapshot before the rewrite and delete the files only they reached (iceberg.expiry),
   so that neither the current table nor time travel returns the rows, and the files are gone;
5. mark the person's erasure requests DONE and write an audit row to audit.erasures."""

from __future__ import annotations

import getpass
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from string import Template
from typing import Any, TypeVar

from flink_jobs.common import split_statements, sql_string
from flowlake import maintain
from flowlake.clients.trino import query, sql_array, sql_map, sql_time
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import FlowlakeError
from udfs.masking import hash_token
from udfs.records import USER_ID

T = TypeVar("T")

ERASE_SQL = REPO_ROOT / "sql" / "trino" / "erase"
REQUEST_ID = re.compile(r"^[0-9a-fA-F-]{36}/[A-Z_]+$")
# A Flink Iceberg committer commits at least every this many checkpoints, data or not
# (flink.max-continuous-empty-commits).
MAX_EMPTY_COMMITS = 10

Progress = Callable[[str], None]


class ErasureIncomplete(FlowlakeError):
    pass


@dataclass
class Erasure:
    erasure_id: str
    user_token: str
    request_ids: list[str]
    started_at: datetime
    rows_removed: dict[str, int] = field(default_factory=dict)
    files_rewritten: int = 0
    snapshots_expired: int = 0
    files_deleted: list[str] = field(default_factory=list)
    finished_at: datetime | None = None


def check_user_id(user_id: str) -> str:
    """The id as the validation rules define it; anything else is refused before it reaches SQL."""
    from udfs.validation import load_rules

    pattern = load_rules().common["user_id"]["regex"]
    if not re.fullmatch(pattern, user_id):
        raise FlowlakeError(f"{user_id!r} is not a user id (the rules say {pattern}): give the customer's "
                            "user_id, e.g. --user U00042, or the request with --request")
    return user_id


def user_token(settings: Settings, user_id: str) -> str:
    from flowlake.keys import pii_hash_key

    return hash_token(user_id, USER_ID, pii_hash_key(settings).encode())


def erase_templates() -> dict[str, str]:
    """The DELETE of each kind of table that holds a person (registry `person` -> sql/trino/erase/<file>): how
    erasure finds a person's rows, and so how an access export finds them too."""
    from iceberg import registry

    files = {registry.BY_EVENT_ID: "by_event_id", registry.BY_RAW_PAYLOAD: "by_raw_payload",
             registry.BY_USER_ID: "by_user_id"}
    templates = {}
    for person, name in files.items():
        (statement,) = split_statements((ERASE_SQL / f"{name}.sql").read_text())  # one DELETE per template
        templates[person] = statement
    return templates


def _delete_files(settings: Settings, table: str) -> int:
    namespace, name = table.split(".")
    _, [[count]] = query(settings, f'SELECT count(*) FROM {settings.catalog_name}.{namespace}."{name}$files" '
                                   "WHERE content <> 0")
    return int(count)


def upsert_tables_of_people() -> list[str]:
    """The tables that hold a person and are written as upserts (the silver tables of captured database tables)."""
    from iceberg import registry

    return [table.identifier for table in registry.CAPTURED.values() if table.person != registry.NO_PERSON]


def erasure_statements(user_id: str, catalog: str) -> list[tuple[str, str]]:
    """(table, DELETE statement) for this user and catalog: every table that holds a person, those found
    through silver's event ids first (while silver still has the person's rows), then the registry's order."""
    from iceberg import registry

    user_id = check_user_id(user_id)
    event_ids = "\n  UNION ALL ".join(f"SELECT event_id FROM {catalog}.{table.identifier} WHERE user_id = '{user_id}'"
                                      for table in registry.SILVER)
    sql = {person: Template(statement) for person, statement in erase_templates().items()}
    erased = sorted((table for table in registry.TABLES if table.person in sql),
                    key=lambda table: table.person != registry.BY_EVENT_ID)
    return [(table.identifier, sql[table.person].substitute(catalog=catalog, table=table.identifier, user_id=user_id,
                                                            person_event_ids=event_ids)) for table in erased]


def user_of_request(settings: Settings, request_id: str) -> str:
    """The user_id behind a privacy request: through the support message it came from."""
    if not REQUEST_ID.match(request_id):
        raise FlowlakeError(f"{request_id!r} is not a request id (<event id>/<intent>): "
                            "see `flowlake privacy requests`")
    catalog = settings.catalog_name
    rows = query(settings, f"SELECT m.user_id FROM {catalog}.gold.privacy_requests r JOIN "
                           f"{catalog}.silver.support_messages m ON m.event_id = r.event_id "
                           f"WHERE r.request_id = '{request_id}'")[1]
    if not rows:
        raise FlowlakeError(f"no request {request_id} with its support message in silver: check the id with "
                            "`flowlake privacy requests --all` (an erased person's messages are gone)")
    return str(rows[0][0])


def requests(settings: Settings, overdue: bool = False, include_done: bool = False) -> list[list[Any]]:
    """Privacy requests, the oldest due first: request id, intent, confidence, received, due, status, user
    token, and what decided it (a rule or the model)."""
    where = [] if include_done else ["status = 'OPEN'"]
    if overdue:
        where.append("due_by < current_timestamp")
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    return query(settings, "SELECT request_id, intent, confidence, received_at, due_by, status, user_token, "
                           "decided_by "
                           f"FROM {settings.catalog_name}.gold.privacy_requests {clause}"
                           "ORDER BY due_by, request_id")[1]


def erase(settings: Settings, user_id: str, request_ids: list[str] | None = None,
          progress: Progress = print, writer_timeout: float | None = None) -> Erasure:
    """Erase one person from every layer (see the module doc); idempotent, so a run that stopped half
    way is finished by running it again."""
    from flowlake.catalog import load_catalog
    from flowlake.clients.flink import FlinkRest

    check_user_id(user_id)
    erasure = Erasure(uuid.uuid4().hex, user_token(settings, user_id), list(request_ids or []), datetime.now(UTC))
    for table, sql in erasure_statements(user_id, settings.catalog_name):
        removed = int(retrying_commit(partial(query, settings, sql))[1][0][0] or 0)
        progress(f"  {table}: {removed} rows deleted")
        if removed:
            erasure.rows_removed[table] = removed
    catalog = load_catalog(settings)
    rewrites = {}
    upserted = [table for table in upsert_tables_of_people() if table in erasure.rows_removed
                or _delete_files(settings, table)]
    for table in erasure.rows_removed:
        if table in upserted:
            continue
        retrying_commit(partial(query, settings, f"ALTER TABLE {settings.catalog_name}.{table} EXECUTE optimize"))
        rewrite = catalog.load_table(table).current_snapshot()
        assert rewrite is not None
        rewrites[table] = rewrite
        erasure.files_rewritten += int(rewrite.summary.additional_properties.get("deleted-data-files", 0)
                                       if rewrite.summary else 0)
        progress(f"  {table}: data files rewritten without the rows (snapshot {rewrite.snapshot_id})")
    # An upsert table hides a row deleted at the source behind an equality delete (which holds the key), and
    # older versions of a row stay in older files: compaction applies every delete and drops the delete files,
    # whether or not the DELETE above found the person's current row.
    for report in maintain.run_once(settings, upserted, steps=("compact",)) if upserted else []:
        if report.get("errors"):
            raise ErasureIncomplete(f"{report['table']}: compaction failed ({'; '.join(report['errors'])}); the rows "
                                    "are deleted from the current table: run the same erase command again")
        rewrite = catalog.load_table(report["table"]).current_snapshot()
        if rewrite is not None:
            rewrites[report["table"]] = rewrite
        erasure.files_rewritten += report["files_rewritten"]
        progress(f"  {report['table']}: {report['files_rewritten']} data files rewritten, "
                 f"{report['delete_files_removed']} delete files dropped")
    # All tables rewritten first, then one wait: the writers of every table commit on the same checkpoints.
    timeout = writer_timeout or (MAX_EMPTY_COMMITS + 3) * settings.checkpoint_interval_seconds + 60
    _wait_for_writers({t: (partial(catalog.load_table, t), r.sequence_number or 0) for t, r in rewrites.items()},
                      FlinkRest(settings).live_job_ids, timeout, progress)
    for table, rewrite in rewrites.items():
        expired, files = _expire_before(partial(catalog.load_table, table), rewrite.snapshot_id)
        erasure.snapshots_expired += expired
        erasure.files_deleted += files
        progress(f"  {table}: {expired} older snapshots expired, {len(files)} files deleted")
    erasure.request_ids = close_requests(settings, erasure.user_token, "ERASURE", erasure.request_ids)
    erasure.finished_at = datetime.now(UTC)
    _audit(settings, erasure)
    return erasure


COMMIT_ATTEMPTS = 5


def retrying_commit(statement: Callable[[], T], attempts: int = COMMIT_ATTEMPTS, pause: float = 2.0) -> T:
    """Run a Trino statement again when its Iceberg commit lost to a concurrent one (the streaming writer
    commits every checkpoint, and a DELETE conflicts with files appended meanwhile that its filter could
    match). A failed commit changed nothing, so running it again is safe."""
    from flowlake.clients.trino import QueryRejected

    for attempt in range(1, attempts + 1):
        try:
            return statement()
        except QueryRejected as error:
            if error.error_name != "ICEBERG_COMMIT_ERROR" or attempt == attempts:
                raise
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


def _wait_for_writers(tables: dict[str, tuple[Callable[[], Any], int]], running: Callable[[], set[str]],
                      timeout: float, progress: Progress) -> None:
    """Until every Flink writer of each table that is still running has committed after the table's
    rewrite (at its sequence number or later). A job that stops meanwhile is not waited for."""
    from iceberg.expiry import snapshot_infos
    from iceberg.maintenance import writers_last_snapshots

    deadline, said = time.monotonic() + timeout, ""
    while True:
        behind: dict[str, list[str]] = {}
        jobs = running()
        for table, (load, after_sequence) in tables.items():
            current = load()
            sequence = {s.snapshot_id: s.sequence_number or 0 for s in current.metadata.snapshots}
            writers = writers_last_snapshots(snapshot_infos(current), jobs)
            jobs_behind = sorted(job for (job, _), snapshot in writers.items() if sequence[snapshot] < after_sequence)
            if jobs_behind:
                behind[table] = jobs_behind
        if not behind:
            return
        waiting = "; ".join(f"{table}: {', '.join(jobs)}" for table, jobs in behind.items())
        if time.monotonic() > deadline:
            raise ErasureIncomplete(
                f"Flink jobs have not committed since the rewrite ({waiting}), so their last snapshots, which still "
                "hold the rows, cannot be expired yet (a restored writer needs them). The rows are deleted from the "
                "current tables; run the same erase command again once the jobs have checkpointed, or stop them "
                "with a savepoint first")
        if waiting != said:
            progress(f"  waiting for the Flink writers to commit after the rewrite ({waiting})")
            said = waiting
        time.sleep(max(1.0, min(5.0, deadline - time.monotonic())))


def _expire_before(load: Callable[[], Any], snapshot_id: int) -> tuple[int, list[str]]:
    from iceberg.expiry import expire, older_than

    return expire(load, older_than(load(), snapshot_id))


def close_requests(settings: Settings, token: str, intent: str, request_ids: list[str]) -> list[str]:
    """Mark the person's open requests of this intent (and the ones named) DONE; returns every request id
    carried out, for the audit."""
    catalog = settings.catalog_name
    named = " OR ".join(f"request_id = '{r}'" for r in request_ids if REQUEST_ID.match(r))
    where = f"user_token = '{token}' AND (intent = '{intent}'{' OR ' + named if named else ''})"
    rows = query(settings, f"SELECT request_id FROM {catalog}.gold.privacy_requests WHERE {where} AND status = 'OPEN'")
    if rows[1]:
        query(settings, f"UPDATE {catalog}.gold.privacy_requests SET status = 'DONE' WHERE {where} AND status = 'OPEN'")
    return sorted({*request_ids, *(r[0] for r in rows[1])})


def requested_by(settings: Settings) -> str:
    """Who ran a privacy operation, for its audit row."""
    return f"{getpass.getuser()} (trino user {settings.trino_user})"


def _audit(settings: Settings, erasure: Erasure) -> None:
    assert erasure.finished_at is not None
    tables = sorted(erasure.rows_removed)
    rows = sql_map(tables, [f"BIGINT '{erasure.rows_removed[t]}'" for t in tables])
    query(settings, f"INSERT INTO {settings.catalog_name}.audit.erasures VALUES ("
                    f"{sql_string(erasure.erasure_id)}, {sql_string(erasure.user_token)}, "
                    f"{sql_array(erasure.request_ids)}, "
                    f"{sql_string(requested_by(settings))}, {sql_time(erasure.started_at)}, "
                    f"{sql_time(erasure.finished_at)}, "
                    f"{sql_array(tables)}, {rows}, BIGINT '{erasure.files_rewritten}', "
                    f"BIGINT '{erasure.snapshots_expired}')")


RESOLVED, NOT_A_REQUEST = "RESOLVED", "NOT_A_REQUEST"
# Carried out by their own command, which closes them with its own audit row.
OWN_COMMAND = {"ERASURE": "flowlake privacy erase --request", "ACCESS": "flowlake privacy export --request"}


def resolve(settings: Settings, request_id: str, note: str, not_a_request: bool = False) -> str:
    """Close one open request by hand with a note (a rectification made, an opt-out carried out elsewhere, or
    a message that asked for nothing of the kind); returns the resolution id written to the audit."""
    catalog = settings.catalog_name
    if not REQUEST_ID.match(request_id):
        raise FlowlakeError(f"{request_id!r} is not a request id (<event id>/<intent>): "
                            "see `flowlake privacy requests`")
    if not note.strip():
        raise FlowlakeError("say what was done with --note (it goes to audit.request_resolutions)")
    rows = query(settings, f"SELECT intent, user_token, status FROM {catalog}.gold.privacy_requests "
                           f"WHERE request_id = '{request_id}'")[1]
    if not rows:
        raise FlowlakeError(f"no request {request_id}: see `flowlake privacy requests --all`")
    intent, token, status = rows[0]
    if status != "OPEN":
        raise FlowlakeError(f"request {request_id} is already {status}: see its audit row")
    if intent in OWN_COMMAND and not not_a_request:
        raise FlowlakeError(f"a {intent} request is carried out by `{OWN_COMMAND[intent]} {request_id}`, which "
                            "closes it; give --not-a-request if the message asked for nothing of the kind")
    resolution_id = uuid.uuid4().hex
    outcome = NOT_A_REQUEST if not_a_request else RESOLVED
    query(settings, f"INSERT INTO {catalog}.audit.request_resolutions VALUES ({sql_string(resolution_id)}, "
                    f"{sql_string(request_id)}, {sql_string(intent)}, {sql_string(token)}, {sql_string(outcome)}, "
                    f"{sql_string(note)}, {sql_string(requested_by(settings))}, {sql_time(datetime.now(UTC))})")
    query(settings, f"UPDATE {catalog}.gold.privacy_requests SET status = 'DONE' "
                    f"WHERE request_id = '{request_id}' AND status = 'OPEN'")
    return resolution_id

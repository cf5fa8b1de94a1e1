"""`flowlake privacy export`: a person's data from every layer, for an access request, as a bundle a
person can read and a machine can load.

For one user_id:
1. pin each table that holds a person at its current snapshot (one consistent read per table, however
   long the export takes, while the streaming job keeps writing);
2. read the person's rows at that snapshot through Trino, found exactly as erasure finds them (the WHERE
   of sql/trino/erase/; the tables of event ids through silver at its pinned snapshots) and, for the
   person's privacy requests, by their keyed token;
3. write one JSON Lines and one Parquet file per table (raw payloads and record keys decoded as UTF-8
   text), a manifest (tables, row counts, checksums, snapshot ids, time) and a README for the person;
4. mark the person's open ACCESS requests (and the ones named) DONE and write an audit row to
   audit.access_exports: who exported what, when, and the manifest's checksum."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template
from typing import Any

from flink_jobs.common import split_statements, sql_string
from flowlake.clients.trino import query, sql_array, sql_map, sql_time
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import FlowlakeError
from flowlake.privacy import (
    Progress,
    check_user_id,
    close_requests,
    erase_templates,
    requested_by,
    user_token,
)
from iceberg import registry

EXPORT_SQL = REPO_ROOT / "sql" / "trino" / "export"
# Binary columns that hold what the person sent: written as text. Other binary columns as hex.
TEXT_BINARIES = ("event_key", "payload", "headers")


@dataclass
class TableExport:
    table: str
    snapshot_id: int | None  # None: the table has no snapshot yet (never written)
    rows: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # format -> {path, sha256, bytes}


@dataclass
class AccessExport:
    export_id: str
    user_id: str
    user_token: str
    request_ids: list[str]
    started_at: datetime
    out: Path
    tables: list[TableExport] = field(default_factory=list)
    manifest_sha256: str = ""
    bytes: int = 0
    finished_at: datetime | None = None


def exported_tables() -> list[registry.Table]:
    """Every table with rows of one person: what erasure deletes, and the person's requests (by token).
    The audit tables are the record of what was done with the data, not the data: not exported."""
    return [t for t in registry.TABLES
            if t.person in (registry.BY_USER_ID, registry.BY_RAW_PAYLOAD, registry.BY_EVENT_ID)
            or (t.person == registry.KEPT and "user_token" in t.column_names() and t.namespace != "audit")]


def person_filters() -> dict[str, Template]:
    """Registry `person` -> the WHERE that finds a person's rows: erasure's own (sql/trino/erase/), so that an
    export holds exactly what an erasure would delete; by user_token for the tables that keep only the token."""
    filters = {person: Template(re.split(r"\bWHERE\b", statement, maxsplit=1)[1].strip())
               for person, statement in erase_templates().items()}
    filters[registry.KEPT] = Template("user_token = '${user_token}'")
    return filters


def select_statements(user_id: str, token: str, catalog: str, snapshots: dict[str, int | None]) -> dict[str, str]:
    """table -> SELECT of the person's rows at its pinned snapshot (tables without a snapshot left out)."""
    user_id = check_user_id(user_id)
    template = Template(split_statements((EXPORT_SQL / "person_rows.sql").read_text())[0])

    def source(identifier: str) -> str:
        return f"{catalog}.{identifier} FOR VERSION AS OF {snapshots[identifier]}"

    event_ids = "\n  UNION ALL ".join(f"SELECT event_id FROM {source(t.identifier)} WHERE user_id = '{user_id}'"
                                      for t in registry.SILVER if snapshots.get(t.identifier) is not None)
    filters = person_filters()
    statements = {}
    for table in exported_tables():
        if snapshots.get(table.identifier) is None:
            continue
        if table.person == registry.BY_EVENT_ID and not event_ids:
            continue
        where = filters[table.person].substitute(catalog=catalog, table=table.identifier, user_id=user_id,
                                                      user_token=token, person_event_ids=event_ids)
        statements[table.identifier] = template.substitute(
            columns=", ".join(f'"{c}"' for c in table.column_names()), source=source(table.identifier),
            person=where, order=", ".join(f'"{c}"' for c in table.sort) or "1")
    return statements


def plain(column: str, value: Any) -> Any:
    """A value as the bundle holds it: what the person sent (record key, payload, headers) as text, other
    bytes as hex."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace") if column in TEXT_BINARIES else bytes(value).hex()
    if isinstance(value, dict):
        return {k: plain(column, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(column, v) for v in value]
    return value


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # exact: a JSON number would become a float
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def arrow_schema(table: registry.Table) -> Any:
    """The table's Iceberg schema as Arrow (field ids kept), binary values as strings (text or hex)."""
    import pyarrow as pa
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    from iceberg.tables import SPECS

    def text(kind: Any) -> Any:
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return pa.string()
        if pa.types.is_map(kind):
            key, item = kind.key_field, kind.item_field
            return pa.map_(key.with_type(text(key.type)), item.with_type(text(item.type)))
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return pa.list_(kind.value_field.with_type(text(kind.value_type)))
        return kind

    schema = schema_to_pyarrow(SPECS[table.identifier].schema)
    for i, arrow_field in enumerate(schema):
        schema = schema.set(i, arrow_field.with_type(text(arrow_field.type)))
    return schema


def write_table(out: Path, table: registry.Table, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{c: plain(c, v) for c, v in zip(columns, row, strict=True)} for row in rows]
    files = {}
    jsonl = out / f"{table.identifier}.jsonl"
    jsonl.write_text("".join(json.dumps(json_value(r), ensure_ascii=False) + "\n" for r in records),
                     encoding="utf-8")
    parquet = out / f"{table.identifier}.parquet"
    schema = arrow_schema(table)
    pq.write_table(pa.Table.from_pylist([{c: _arrow_value(r[c]) for c in columns} for r in records], schema=schema),
                   parquet)
    for kind, path in (("jsonl", jsonl), ("parquet", parquet)):
        data = path.read_bytes()
        files[kind] = {"path": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return files


def _arrow_value(value: Any) -> Any:
    if isinstance(value, dict):
        return list(value.items())  # Arrow's map type takes (key, value) pairs
    return value


def export(settings: Settings, user_id: str, out: Path, request_ids: list[str] | None = None,
           progress: Progress = print) -> AccessExport:
    """Export one person's data (see the module doc) into the directory `out` (created; must be empty)."""
    from flowlake.catalog import load_catalog

    check_user_id(user_id)
    if out.exists() and any(out.iterdir()):
        raise FlowlakeError(f"{out} is not empty: give a new directory with --out")
    out.mkdir(parents=True, exist_ok=True)
    token = user_token(settings, user_id)
    job = AccessExport(uuid.uuid4().hex, user_id, token, list(request_ids or []), datetime.now(UTC), out)
    catalog = load_catalog(settings)
    snapshots: dict[str, int | None] = {}
    for table in exported_tables():
        current = catalog.load_table(table.identifier).current_snapshot()
        snapshots[table.identifier] = current.snapshot_id if current else None
    statements = select_statements(user_id, token, settings.catalog_name, snapshots)
    for table in exported_tables():
        done = TableExport(table.identifier, snapshots[table.identifier])
        columns, rows = (query(settings, statements[table.identifier]) if table.identifier in statements
                         else (table.column_names(), []))
        done.rows = len(rows)
        done.files = write_table(out, table, columns, rows)
        job.tables.append(done)
        progress(f"  {table.identifier}: {done.rows} rows (snapshot {done.snapshot_id})")
    job.request_ids = close_requests(settings, token, "ACCESS", job.request_ids)
    job.finished_at = datetime.now(UTC)
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(_manifest(job), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(_readme(job), encoding="utf-8")
    job.manifest_sha256 = hashlib.sha256(manifest.read_bytes()).hexdigest()
    job.bytes = sum(p.stat().st_size for p in out.iterdir())
    _audit(settings, job)
    return job


def _manifest(job: AccessExport) -> dict[str, Any]:
    assert job.finished_at is not None
    return {
        "export_id": job.export_id, "user_id": job.user_id, "user_token": job.user_token,
        "request_ids": job.request_ids, "started_at": job.started_at.isoformat(),
        "exported_at": job.finished_at.isoformat(),
        "tables": [{"table": t.table, "comment": registry.by_identifier(t.table).comment, "snapshot_id": t.snapshot_id,
                    "rows": t.rows, "files": t.files,
                    "columns": [{"name": name, "type": kind, "doc": doc}
                                for name, kind, _, doc in registry.by_identifier(t.table).columns]}
                   for t in job.tables]}


def _readme(job: AccessExport) -> str:
    lines = [f"# Your data, as held on {job.started_at:%Y-%m-%d %H:%M} UTC", "",
             f"Every record held about the customer account {job.user_id}, in each table of the data platform",
             "where it appears. Each table is here twice, with the same rows: as JSON Lines (`.jsonl`, one record",
             "per line, readable in any text editor) and as Parquet (`.parquet`, for data tools).", "",
             "- `bronze.*`: what was received, as it was sent (`payload` is the message as text).",
             "- `quarantine.*`: what was received and refused, with the reasons.",
             "- `silver.*`: the same events checked and cleaned. Personal details are replaced there: a",
             "  `..._token` or `..._hash` value is a keyed code standing for the value (the same value always",
             "  gives the same code, the code does not give the value back); a masked value keeps only a few",
             "  characters. The values themselves are the ones in bronze.",
             "- `gold.*`: results computed from silver for this account, and your privacy requests.", "",
             "`manifest.json` lists each file with its number of rows, its SHA-256 checksum, the snapshot of",
             "the table it was read from, and what every column means.", "", "| table | rows |", "|---|---|"]
    lines += [f"| {t.table} | {t.rows} |" for t in job.tables]
    return "\n".join(lines) + "\n"


def _audit(settings: Settings, job: AccessExport) -> None:
    assert job.finished_at is not None
    tables = [t.table for t in job.tables]
    rows = sql_map(tables, [f"BIGINT '{t.rows}'" for t in job.tables])
    snapshot_ids = sql_map(tables, [f"BIGINT '{t.snapshot_id}'" if t.snapshot_id is not None else "CAST(NULL AS BIGINT)"
                                    for t in job.tables])
    query(settings, f"INSERT INTO {settings.catalog_name}.audit.access_exports VALUES ("
                    f"{sql_string(job.export_id)}, {sql_string(job.user_token)}, {sql_array(job.request_ids)}, "
                    f"{sql_string(requested_by(settings))}, {sql_time(job.started_at)}, {sql_time(job.finished_at)}, "
                    f"{sql_array(tables)}, {rows}, "
                    f"{snapshot_ids}, {sql_string(job.manifest_sha256)}, BIGINT '{job.bytes}')")

"""`flowlake check`: table-level data-quality checks. The expectations are declared in
iceberg/quality.toml; each kind's SQL is a file in sql/trino/checks/, run through Trino against one
snapshot per table (the snapshot id goes with the result); the verdicts are judged here in plain
Python and appended to quality.check_results. analytics.quality_status holds the latest run of every
check; the exporter turns it into metrics and the alert DataQualityCheckFailed. A failed check never
touches the stream: it is a row, a metric and an alert."""

from __future__ import annotations

import logging
import math
import re
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomllib

from flink_jobs.common import sql_string
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import FlowlakeError
from iceberg import registry

log = logging.getLogger("flowlake.quality")
CHECKS_FILE = REPO_ROOT / "iceberg" / "quality.toml"
SQL_DIR = REPO_ROOT / "sql" / "trino" / "checks"
STATUS_VIEW = REPO_ROOT / "sql" / "trino" / "views" / "07_quality_status.sql"
PSI_FLOOR = 1e-4  # a value missing from one side counts as this share of it, so the index stays finite

# Per kind: the keys a check must have, and the ones it may have (with their defaults).
COMMON = {"name", "kind", "table", "description"}
KINDS: dict[str, tuple[set[str], dict[str, Any]]] = {
    "volume": ({"time_column", "window_minutes", "baseline_windows", "min_ratio"},
               {"max_ratio": 0.0, "group_by": [], "where": "", "min_baseline": 1.0}),
    "nulls": ({"columns", "max_ratio", "time_column", "lookback_minutes"}, {"where": ""}),
    "distinct": ({"columns", "min_ratio", "time_column", "lookback_minutes"}, {"where": ""}),
    "allowed_values": ({"column", "values", "max_outside_ratio", "time_column", "lookback_minutes"}, {"where": ""}),
    "distribution": ({"column", "time_column", "window_minutes", "reference_minutes", "max_psi"},
                     {"where": "", "min_rows": 100}),
    "referential": ({"column", "time_column", "parent_table", "parent_column", "parent_time_column",
                     "within_minutes", "lookback_minutes", "max_orphan_ratio"}, {"where": ""}),
    "freshness": ({"time_column", "max_age_minutes"}, {"where": ""}),
    "reconcile": ({"query", "lookback_minutes", "closed_after_minutes", "max_relative_difference"}, {}),
}
COLUMN_KEYS = ("time_column", "columns", "column", "group_by")


@dataclass(frozen=True)
class Check:
    name: str
    kind: str
    table: str
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def tables(self) -> list[str]:
        """Every table its SQL reads, its own first."""
        if self.kind == "referential":
            return [self.table, self["parent_table"]]
        if self.kind == "reconcile":
            others = re.findall(r"\$\{(\w+\.\w+)\}", (SQL_DIR / f"{self['query']}.sql").read_text())
            return list(dict.fromkeys([self.table, *others]))
        return [self.table]


@dataclass(frozen=True)
class Result:
    check: str
    kind: str
    table: str
    subject: str
    observed: float | None
    threshold: str
    passed: bool
    details: str = ""
    snapshot_id: int | None = None


def load_checks(path: Path = CHECKS_FILE) -> tuple[str, list[Check]]:
    """The schedule and the checks of an expectations file, each validated against the table registry
    (a wrong table or column name fails here, not at 3 a.m. in Trino)."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise FlowlakeError(f"{path}: {error}") from None
    checks = [_check(path, entry) for entry in document.get("check", [])]
    names = [check.name for check in checks]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FlowlakeError(f"{path}: check names must be unique: {', '.join(repeated)}")
    return str(document.get("schedule", "*/15 * * * *")), checks


def _check(path: Path, entry: dict[str, Any]) -> Check:
    where = f"{path}: check {entry.get('name', '?')!r}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise FlowlakeError(f"{where}: kind must be one of {', '.join(KINDS)}")
    required, optional = KINDS[kind]
    missing = sorted(required - set(entry))
    unknown = sorted(set(entry) - required - set(optional) - COMMON)
    if missing or unknown or "name" not in entry or "table" not in entry:
        raise FlowlakeError(f"{where}: missing {missing or ['name/table']}, unknown {unknown}")
    tables = {t.identifier: t for t in registry.TABLES}
    for key in ("table", "parent_table"):
        if key in entry and entry[key] not in tables:
            raise FlowlakeError(f"{where}: unknown {key} {entry[key]!r} (iceberg/registry.py)")
    columns = set(tables[entry["table"]].column_names())
    named = [c for key in COLUMN_KEYS
             for c in ([entry[key]] if isinstance(entry.get(key), str) else entry.get(key, []))]
    if "parent_table" in entry:
        parent = set(tables[entry["parent_table"]].column_names())
        if not {entry["parent_column"], entry["parent_time_column"]} <= parent:
            raise FlowlakeError(f"{where}: {entry['parent_table']} has no column {entry['parent_column']!r} "
                                f"or {entry['parent_time_column']!r}")
    if sorted(set(named) - columns):
        raise FlowlakeError(f"{where}: {entry['table']} has no column {sorted(set(named) - columns)}")
    if kind == "reconcile" and not (SQL_DIR / f"{entry['query']}.sql").exists():
        raise FlowlakeError(f"{where}: no query sql/trino/checks/{entry['query']}.sql")
    params = {**optional, **{k: v for k, v in entry.items() if k not in ("name", "kind", "table")}}
    return Check(entry["name"], kind, entry["table"], params)


def table_ref(catalog: str, table: str, snapshot: int | None) -> str:
    """The table at its pinned snapshot (a table without one is empty: read as it is)."""
    namespace, name = table.split(".")
    plain = f'{catalog}.{namespace}."{name}"'
    return plain if snapshot is None else f"{plain} FOR VERSION AS OF {snapshot}"


def render(check: Check, at: datetime, catalog: str, snapshots: dict[str, int | None]) -> str:
    """The check's SQL for the time checked, every table pinned to its snapshot."""
    p = check.params
    from flowlake.clients.trino import sql_time

    values: dict[str, str] = {"at": sql_time(at), "where": p.get("where") or "true",
                              "table": table_ref(catalog, check.table, snapshots.get(check.table)),
                              "time_column": p.get("time_column", "")}
    minutes = p.get("lookback_minutes", 0)  # 0: every row up to the time checked
    values["window"] = f"{values['time_column']} < {values['at']}" + (
        f" AND {values['time_column']} >= {values['at']} - INTERVAL '{int(minutes * 60)}' SECOND" if minutes else "")
    if check.kind == "volume":
        window_ms = int(p["window_minutes"] * 60_000)
        groups = [f"CAST({column} AS varchar)" for column in p["group_by"]]
        values.update(groups="".join(f"{g} AS g{i}, " for i, g in enumerate(groups)), window_ms=str(window_ms),
                      span_seconds=str(window_ms * (p["baseline_windows"] + 1) // 1000),
                      group_by=", ".join(str(i + 1) for i in range(len(groups) + 1)))
    elif check.kind == "nulls":
        values["null_counts"] = ", ".join(f"count_if({c} IS NULL)" for c in p["columns"])
    elif check.kind == "distinct":
        values["distinct_counts"] = ", ".join(f"count(DISTINCT {c})" for c in p["columns"])
    elif check.kind == "allowed_values":
        values.update(column=p["column"], values=", ".join(sql_string(str(v)) for v in p["values"]))
    elif check.kind == "distribution":
        values.update(column=p["column"], window_seconds=str(int(p["window_minutes"] * 60)),
                      span_seconds=str(int((p["window_minutes"] + p["reference_minutes"]) * 60)))
    elif check.kind == "referential":
        within = int(p["within_minutes"] * 60)
        span = within + int(p["lookback_minutes"] * 60)
        values.update(column=p["column"], parent_column=p["parent_column"],
                      parent_time_column=p["parent_time_column"], within_seconds=str(within),
                      span_seconds=str(span), parent_span_seconds=str(span + within),
                      parent_table=table_ref(catalog, p["parent_table"], snapshots.get(p["parent_table"])))
    elif check.kind == "reconcile":
        closed = at - timedelta(minutes=p["closed_after_minutes"])
        until = closed.replace(minute=0, second=0, microsecond=0)  # whole hours: windows are minutes or hours
        values.update({"from": sql_time(until - timedelta(minutes=p["lookback_minutes"])), "until": sql_time(until)})
        values.update({t: table_ref(catalog, t, snapshots.get(t)) for t in check.tables()})
    template = (SQL_DIR / f"{p['query'] if check.kind == 'reconcile' else check.kind}.sql").read_text()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise FlowlakeError(f"{check.name}: no value for ${{{match.group(1)}}} in its SQL")
        return values[match.group(1)]

    return re.sub(r"\$\{([\w.]+)\}", fill, template).strip().rstrip(";")


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def psi(current: dict[str, int], reference: dict[str, int]) -> float:
    """Population stability index of two distributions of counts: sum of (c - r) * ln(c / r) over the
    values' shares, a value absent from one side floored at PSI_FLOOR. 0.1 is a small shift, 0.25 a
    large one, by the usual reading."""
    total_c, total_r = sum(current.values()), sum(reference.values())
    index = 0.0
    for value in set(current) | set(reference):
        c = max(current.get(value, 0) / total_c, PSI_FLOOR)
        r = max(reference.get(value, 0) / total_r, PSI_FLOOR)
        index += (c - r) * math.log(c / r)
    return index


def judge(check: Check, rows: Sequence[Sequence[Any]], at: datetime) -> list[Result]:
    """The verdicts of a check from its query's rows (pure: what the unit tests exercise)."""
    p = check.params

    def result(subject: str, observed: float | None, threshold: str, passed: bool, details: str = "") -> Result:
        return Result(check.name, check.kind, check.table, subject, observed, threshold, passed, details)

    if check.kind == "volume":
        groups: dict[tuple[str, ...], dict[int, int]] = {}
        width = len(p["group_by"])
        for row in rows:
            group, bucket, count = tuple(str(g) for g in row[:width]), row[width], row[width + 1]
            groups.setdefault(group, {})[int(bucket)] = int(count)
        found = []
        for group, buckets in sorted(groups.items()):
            subject = ", ".join(f"{c}={v}" for c, v in zip(p["group_by"], group, strict=True)) or "rows"
            observed = buckets.get(0, 0)
            baseline = statistics.median(buckets.get(i, 0) for i in range(1, p["baseline_windows"] + 1))
            bounds = f">= {p['min_ratio']} x baseline {baseline:g}" + (
                f", <= {p['max_ratio']} x baseline" if p["max_ratio"] else "")
            details = (f"rows in the {p['window_minutes']} min before {at.isoformat()}: {observed}; median of the "
                       f"{p['baseline_windows']} windows before: {baseline:g}")
            if baseline < p["min_baseline"]:
                found.append(result(subject, observed, bounds, True, details + " (too little history to judge)"))
                continue
            passed = (observed >= p["min_ratio"] * baseline
                      and (not p["max_ratio"] or observed <= p["max_ratio"] * baseline))
            found.append(result(subject, observed, bounds, passed, details))
        return found or [result("rows", 0, f">= {p['min_ratio']} x baseline 0", True, "no rows in any window")]
    if check.kind in ("nulls", "distinct"):
        (total, *counts), = rows
        found = []
        for column, count in zip(p["columns"], counts, strict=True):
            share = ratio(count, total)
            if check.kind == "nulls":
                found.append(result(column, share, f"<= {p['max_ratio']}", share is None or share <= p["max_ratio"],
                                    f"{count} nulls in {total} rows"))
            else:
                found.append(result(column, share, f">= {p['min_ratio']}", share is None or share >= p["min_ratio"],
                                    f"{count} distinct values in {total} rows"))
        return found
    if check.kind == "allowed_values":
        (total, outside), = rows
        share = ratio(outside, total)
        return [result(p["column"], share, f"<= {p['max_outside_ratio']}",
                       share is None or share <= p["max_outside_ratio"],
                       f"{outside} of {total} rows outside {', '.join(map(str, p['values']))}")]
    if check.kind == "distribution":
        current: dict[str, int] = {}
        reference: dict[str, int] = {}
        for is_current, value, count in rows:
            (current if is_current else reference)[str(value)] = int(count)
        sizes = f"{sum(current.values())} rows against {sum(reference.values())} in the reference period"
        if min(sum(current.values()), sum(reference.values())) < p["min_rows"]:
            return [result(p["column"], None, f"<= {p['max_psi']}", True, sizes + " (too few to judge)")]
        index = psi(current, reference)
        return [result(p["column"], index, f"<= {p['max_psi']}", index <= p["max_psi"], sizes)]
    if check.kind == "referential":
        (total, orphans), = rows
        share = ratio(orphans, total)
        within = share is None or share <= p["max_orphan_ratio"]
        return [result(p["column"], share, f"<= {p['max_orphan_ratio']}", within,
                       f"{orphans} of {total} rows without a {p['parent_table']}.{p['parent_column']} within "
                       f"{p['within_minutes']} min")]
    if check.kind == "freshness":
        (newest,), = rows
        if newest is None:
            return [result(p["time_column"], None, f"<= {p['max_age_minutes'] * 60:g} s", False, "no rows")]
        age = (at - newest).total_seconds()
        return [result(p["time_column"], age, f"<= {p['max_age_minutes'] * 60:g} s",
                       age <= p["max_age_minutes"] * 60, f"newest row at {newest.isoformat()}")]
    found = []
    for subject, gold, silver in rows:  # reconcile
        difference = abs((gold or 0) - (silver or 0)) / max(abs(silver or 0), abs(gold or 0), 1e-9)
        found.append(result(str(subject), difference, f"<= {p['max_relative_difference']}",
                            difference <= p["max_relative_difference"], f"{check.table}: {gold}, silver: {silver}"))
    return found or [result("windows", 0.0, f"<= {p['max_relative_difference']}", True, "no closed windows")]


def current_snapshots(settings: Settings, tables: list[str]) -> dict[str, int | None]:
    """The main branch's snapshot of each table (None: no snapshot yet)."""
    from flowlake.clients.trino import query

    found: dict[str, int | None] = {}
    for table in tables:
        namespace, name = table.split(".")
        rows = query(settings, f"SELECT snapshot_id FROM {settings.catalog_name}.{namespace}.\"{name}$refs\" "
                               "WHERE name = 'main'")[1]
        found[table] = rows[0][0] if rows else None
    return found


def run_checks(settings: Settings, checks: list[Check], at: datetime | None = None,
               progress: Callable[[str], None] = log.info) -> list[Result]:
    """Every check at one snapshot per table; a check whose query fails is a failed result saying why."""
    from flowlake.clients.trino import query

    at = at or datetime.now(UTC)
    snapshots = current_snapshots(settings, sorted({t for check in checks for t in check.tables()}))
    results: list[Result] = []
    for number, check in enumerate(checks, 1):
        progress(f"[{number}/{len(checks)}] {check.name} ({check.kind}, {check.table})")
        try:
            rows = query(settings, render(check, at, settings.catalog_name, snapshots))[1]
            verdicts = judge(check, rows, at)
        except FlowlakeError as error:
            verdicts = [Result(check.name, check.kind, check.table, "query", None, "runs", False, str(error)[:2000])]
        results += [replace(r, snapshot_id=snapshots.get(check.table)) for r in verdicts]
    return results


def record(settings: Settings, results: list[Result], at: datetime) -> str:
    """Append the results to quality.check_results (one commit) and refresh analytics.quality_status;
    returns the run id."""
    from flowlake.clients.trino import query, sql_time
    from flowlake.views import view_sql

    run_id = uuid.uuid4().hex
    now = sql_time(datetime.now(UTC))

    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return "nan()" if math.isnan(value) else f"DOUBLE '{value!r}'"
        if isinstance(value, int):
            return str(value)
        return sql_string(str(value))

    rows = ", ".join(
        "(" + ", ".join([literal(run_id), literal(r.check), literal(r.kind), literal(r.table), literal(r.subject),
                         literal(r.snapshot_id), literal(None if r.observed is None else float(r.observed)),
                         literal(r.threshold), literal(r.passed), literal(r.details or None), sql_time(at), now]) + ")"
        for r in results)
    if rows:
        query(settings, f"INSERT INTO {settings.catalog_name}.quality.check_results VALUES {rows}")
    query(settings, f"CREATE SCHEMA IF NOT EXISTS {settings.catalog_name}.analytics")
    query(settings, view_sql(STATUS_VIEW, settings.catalog_name))
    return run_id


def check(settings: Settings, tables: list[str] | None = None, path: Path = CHECKS_FILE,
          at: datetime | None = None, progress: Callable[[str], None] = log.info) -> tuple[str, list[Result]]:
    """One run of the checks of the file (of the tables named, or all), recorded; returns (run id, results)."""
    _, checks = load_checks(path)
    unknown = sorted(set(tables or []) - {c.table for c in checks})
    if unknown:
        raise FlowlakeError(f"no checks for {', '.join(unknown)} in {path}")
    chosen = [c for c in checks if not tables or c.table in tables]
    at = at or datetime.now(UTC)
    results = run_checks(settings, chosen, at, progress)
    return record(settings, results, at), results

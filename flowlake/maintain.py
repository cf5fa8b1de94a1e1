"""`flowlake maintain`: runs the maintenance batch job (flink_jobs/maintain.py) on the Flink cluster,
once or on the cron schedules of iceberg/maintenance.toml, and reports what each run did: a log
line per table, a JSON line in <data dir>/maintenance/runs.jsonl, and Prometheus metrics while the
scheduler runs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from flowlake.clients.flink import FlinkRest, failure_tail, job_name, run_attached
from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from iceberg.maintenance import (
    POLICY_FILE,
    MaintenancePolicy,
    check_orphan_safety,
    check_retention,
    load_policies,
    next_run,
)

log = logging.getLogger("flowlake.maintain")
REPORT_PREFIX = "MAINTENANCE_REPORT "
STEPS = ("retention", "compact", "expire", "orphans", "manifests")


def policies(tables: list[str] | None = None, path: Path = POLICY_FILE) -> dict[str, MaintenancePolicy]:
    """Table -> policy, for every table of the lakehouse or the ones named."""
    from iceberg import registry

    default, overrides = load_policies(path)
    known = [table.identifier for table in registry.TABLES]
    unknown = sorted(set(tables or []) - set(known))
    if unknown:
        raise FlowlakeError(f"unknown tables {unknown}: choose from {', '.join(known)}")
    chosen = {name: overrides.get(name, default) for name in (tables or known)}
    for name, policy in chosen.items():
        partition = registry.by_identifier(name).partition
        check_retention(name, policy, partition[0] if partition else None)
    return chosen


def parse_reports(output: str) -> list[dict[str, Any]]:
    return [json.loads(line[line.index(REPORT_PREFIX) + len(REPORT_PREFIX):])
            for line in output.splitlines() if REPORT_PREFIX in line]


def run_once(settings: Settings, tables: list[str] | None = None, steps: tuple[str, ...] = STEPS,
             path: Path = POLICY_FILE) -> list[dict[str, Any]]:
    """One maintenance run over the tables; returns a report per table (also logged and appended to
    the run history)."""
    chosen = policies(tables, path)
    for name, policy in chosen.items():
        try:
            check_orphan_safety(policy, settings.checkpoint_interval_seconds)
        except ValueError as error:
            raise FlowlakeError(f"{name}: {error}") from None
    plan = [{"table": name, "policy": policy.to_json()} for name, policy in chosen.items()]
    writers = ",".join(sorted(FlinkRest(settings).live_job_ids()))
    args = ["--plan", json.dumps(plan), "--running-jobs", writers, "--steps", ",".join(steps),
            "--job-name", job_name("maintain", [])]
    returncode, output = run_attached(settings, "maintain", args)
    reports = parse_reports(output)  # a failed table does not stop the others: each has its report
    record(settings, reports)
    if returncode != 0 and len(reports) < len(chosen):
        raise failure_tail("maintain", returncode, output)
    return reports


def history_file(settings: Settings) -> Path:
    return settings.data_dir / "maintenance" / "runs.jsonl"


def record(settings: Settings, reports: list[dict[str, Any]]) -> None:
    path = history_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as history:
        for report in reports:
            history.write(json.dumps(report, sort_keys=True) + "\n")
            log.info("maintenance %s", summary(report))


def summary(report: dict[str, Any]) -> str:
    """The one log line of a table's run."""
    parts = [report["table"]]
    if report.get("retention_rows_removed") or report.get("retention_files_removed"):
        parts.append(f"retention: {report['retention_rows_removed']} rows in {report['retention_files_removed']} "
                     f"files before {report['retention_cutoff']} deleted")
    if "data_files_after" in report:
        parts.append(f"data files {report['data_files_before']} -> {report['data_files_after']} "
                     f"({report['bytes_before']} -> {report['bytes_after']} bytes, "
                     f"max per partition {report['max_files_per_partition_before']} -> "
                     f"{report['max_files_per_partition_after']})")
    if "snapshots_expired" in report:
        parts.append(f"snapshots expired {report['snapshots_expired']} (kept {report['snapshots_after']}, "
                     f"{report['writer_snapshots_kept']} writers' last)")
    if "orphans_removed" in report:
        parts.append(f"orphans removed {report['orphans_removed']} ({report['orphan_bytes_removed']} bytes)")
    if "manifests_before" in report:
        parts.append(f"manifests {report['manifests_before']} -> {report['manifests_after']}")
    parts.append(f"{report['seconds']:.1f} s")
    if report.get("errors"):
        parts.append(f"ERRORS: {'; '.join(report['errors'])}")
    return ", ".join(parts)


class Metrics:
    """What the scheduler exposes to Prometheus, from each run's reports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ["table"]
        self.runs = Counter("flowlake_maintenance_runs", "maintenance runs per table and outcome",
                            [*labels, "outcome"], registry=self.registry)
        self.last_run = Gauge("flowlake_maintenance_last_run_timestamp_seconds", "end of the last run",
                              labels, registry=self.registry)
        self.seconds = Gauge("flowlake_maintenance_step_duration_seconds", "duration of each step of the last run",
                             [*labels, "step"], registry=self.registry)
        self.data_files = Gauge("flowlake_maintenance_data_files", "data files after the last run", labels,
                                registry=self.registry)
        self.max_files = Gauge("flowlake_maintenance_max_files_per_partition", "after the last run", labels,
                               registry=self.registry)
        self.rewritten = Counter("flowlake_maintenance_files_rewritten", "data files replaced by compaction",
                                 labels, registry=self.registry)
        self.expired = Counter("flowlake_maintenance_snapshots_expired", "snapshots expired", labels,
                               registry=self.registry)
        self.orphans = Counter("flowlake_maintenance_orphans_removed", "orphan files deleted", labels,
                               registry=self.registry)
        self.manifests = Gauge("flowlake_maintenance_manifests", "manifests of the current snapshot", labels,
                               registry=self.registry)
        self.retention_rows = Counter("flowlake_maintenance_retention_rows_removed",
                                      "rows deleted because their partition outlived retention_days", labels,
                                      registry=self.registry)
        self.next_run = Gauge("flowlake_maintenance_next_run_timestamp_seconds",
                              "when the scheduler will run it next (a time long past: a missed run)", labels,
                              registry=self.registry)
        self.retention_files = Counter("flowlake_maintenance_retention_files_removed",
                                       "data files deleted by retention (gone from disk when older snapshots expire)",
                                       labels, registry=self.registry)

    def observe(self, report: dict[str, Any]) -> None:
        table = report["table"]
        self.runs.labels(table, "error" if report.get("errors") else "ok").inc()
        self.last_run.labels(table).set(time.time())
        for step in STEPS:
            if f"{step}_seconds" in report:
                self.seconds.labels(table, step).set(report[f"{step}_seconds"])
        if "data_files_after" in report:
            self.data_files.labels(table).set(report["data_files_after"])
            self.max_files.labels(table).set(report["max_files_per_partition_after"])
            self.rewritten.labels(table).inc(report["files_rewritten"])
        if "snapshots_expired" in report:
            self.expired.labels(table).inc(report["snapshots_expired"])
        if "orphans_removed" in report:
            self.orphans.labels(table).inc(report["orphans_removed"])
        if "manifests_after" in report:
            self.manifests.labels(table).set(report["manifests_after"])
        if "retention_rows_removed" in report:
            self.retention_rows.labels(table).inc(report["retention_rows_removed"])
            self.retention_files.labels(table).inc(report["retention_files_removed"])


def due(schedules: dict[str, str], last: datetime) -> tuple[datetime, list[str]]:
    """The next time any schedule fires after `last`, and the tables whose schedule fires then."""
    upcoming = {table: next_run(expression, last) for table, expression in schedules.items()}
    when = min(upcoming.values())
    return when, sorted(table for table, at in upcoming.items() if at == when)


CHECKS = "table checks"  # the scheduler's entry for `flowlake check` (iceberg/quality.toml), beside the tables
RESTATE = "gold restatement"  # and for `flowlake gold restate` (settings.restate_schedule)


def schedule(settings: Settings, tables: list[str] | None = None, path: Path = POLICY_FILE,
             sleep: Callable[[float], None] = time.sleep, runs: int | None = None,
             checks_file: Path | None = None) -> None:
    """Run maintenance whenever a table's cron schedule fires (every table, or the ones named), and, unless
    tables are named, the table checks and the daily gold restatement on theirs; serve metrics meanwhile. A
    failed run is logged and counted, and the scheduler goes on."""
    from flowlake import quality
    from flowlake.restate import restate

    metrics = Metrics()
    start_http_server(settings.maintenance_metrics_port, addr=settings.host, registry=metrics.registry)
    log.info("maintenance scheduler: metrics on http://%s:%d/metrics", settings.host, settings.maintenance_metrics_port)
    schedules = {table: policy.schedule for table, policy in policies(tables, path).items()}
    checks_file = checks_file or quality.CHECKS_FILE
    if tables is None:
        schedules[CHECKS] = quality.load_checks(checks_file)[0]
        schedules[RESTATE] = settings.restate_schedule
    for name in schedules:  # from 0, so that the first failure is an increase (MaintenanceFailed)
        for outcome in ("ok", "error"):
            metrics.runs.labels(name, outcome)
    last = datetime.now(UTC)
    done = 0
    while runs is None or done < runs:
        when, due_now = due(schedules, last)
        for name, expression in schedules.items():
            metrics.next_run.labels(name).set(next_run(expression, last).timestamp())
        log.info("next maintenance at %s: %s", when.isoformat(), ", ".join(due_now))
        sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))
        tables_due = [name for name in due_now if name not in (CHECKS, RESTATE)]
        try:
            for report in run_once(settings, tables_due, path=path) if tables_due else []:
                metrics.observe(report)
        except FlowlakeError as error:
            for table in tables_due:
                metrics.runs.labels(table, "error").inc()
            log.error("maintenance of %s failed: %s", ", ".join(tables_due), error)
        if CHECKS in due_now:
            try:
                run_id, results = quality.check(settings, path=checks_file, at=when)
                failed = [f"{r.check} ({r.subject})" for r in results if not r.passed]
                log.info("table checks run %s: %d passed, %d failed%s", run_id, len(results) - len(failed),
                         len(failed), f": {', '.join(failed)}" if failed else "")
                metrics.runs.labels(CHECKS, "ok").inc()  # a failed check is its own alert, not a failed run
            except FlowlakeError as error:
                metrics.runs.labels(CHECKS, "error").inc()
                log.error("table checks failed to run: %s", error)
        if RESTATE in due_now:
            try:
                restated = restate(settings, now=when)
                log.info("gold restated for %s to %s: %s", restated.from_day, restated.until_day,
                         ", ".join(f"{d} {'final' if final else 'open'}" for d, final, _ in restated.days) or "no days")
                metrics.runs.labels(RESTATE, "ok").inc()
            except FlowlakeError as error:
                metrics.runs.labels(RESTATE, "error").inc()
                log.error("gold restatement failed: %s", error)
        last = when
        done += 1

"""`flowlake quarantine replay`: quarantined records of one rule through the validation rules again (after
the rule was fixed), in the batch Flink job flink_jobs/replay.py; the now-valid records appended to silver,
each event id at most once, and the replay recorded in audit.replays."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flink_jobs.common import sql_string
from flowlake.clients.flink import failure_tail, job_name, run_attached
from flowlake.clients.trino import query, sql_map, sql_time
from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.privacy import requested_by
from iceberg import registry
from udfs.validation import RULES_FILE


@dataclass(frozen=True)
class Replay:
    replay_id: str
    rule: str
    since: datetime | None
    matched: int
    written: dict[str, int]
    flink_job_id: str
    started_at: datetime
    finished_at: datetime


def quarantined(rule: str, since: datetime | None) -> str:
    """The quarantine rows of the rule (since the time), as a Trino filter."""
    after = f" AND quarantined_at >= {sql_time(since)}" if since else ""
    return f"any_match(failures, f -> starts_with(f, {sql_string(rule + ': ')})){after}"


def check_rules_file(path: Path) -> None:
    """A replacement rules file must parse and give the same columns as the one the job was built for:
    the job's result type comes from the current file."""
    from udfs.records import COLUMNS, check_columns
    from udfs.validation import load_rules

    try:
        columns = check_columns(load_rules(path))
    except Exception as error:  # a RulesError names the file and the problem
        raise FlowlakeError(f"--rules {path}: {error}") from None
    if columns != COLUMNS:
        raise FlowlakeError(f"--rules {path}: its fields give the columns {columns}, the job's are {COLUMNS}: "
                            "a replay may change checks (enums, ranges, patterns), not which fields silver has")


def replay(settings: Settings, rule: str, since: datetime | None = None, rules_file: Path = RULES_FILE) -> Replay:
    catalog = settings.catalog_name
    if not re.fullmatch(r"[\w.\[\]-]+", rule):
        raise FlowlakeError(f"--rule {rule!r}: a rule id such as payment.currency.enum (quarantine.events.failures "
                            "start with them)")
    check_rules_file(rules_file)
    where = quarantined(rule, since)
    [[matched]] = query(settings, f"SELECT count(*) FROM {catalog}.quarantine.events WHERE {where}")[1]
    if not matched:
        raise FlowlakeError(f"no quarantined record failed rule {rule}{f' since {since}' if since else ''}: "
                            f"`flowlake query \"SELECT rule, failures FROM {catalog}.analytics.quality_by_rule\"` "
                            "lists the rules that failed")
    started = datetime.now(UTC)
    args = ["--rule", rule, "--job-name", f"{job_name('replay', [])} {rule}"]
    if since:
        args += ["--since", since.isoformat()]
    returncode, output = run_attached(settings, "replay", args, rules_file=rules_file)
    if returncode != 0:
        raise failure_tail("replay", returncode, output)
    finished = datetime.now(UTC)
    found = re.search(r"REPLAY_JOB (\w+)", output)
    written = {table.identifier: int(query(settings, (
        f"SELECT count(*) FROM {catalog}.{table.identifier} s WHERE s.processed_at >= {sql_time(started)} "
        f"AND EXISTS (SELECT 1 FROM {catalog}.quarantine.events WHERE {where} "
        "AND source_partition = s.source_partition AND source_offset = s.source_offset)"))[1][0][0])
        for table in registry.SILVER}
    done = Replay(uuid.uuid4().hex, rule, since, int(matched), {t: n for t, n in written.items() if n},
                  found.group(1) if found else "", started, finished)
    query(settings, f"INSERT INTO {catalog}.audit.replays VALUES ({sql_string(done.replay_id)}, {sql_string(rule)}, "
                    f"{sql_time(since) if since else 'NULL'}, "
                    f"{sql_string(hashlib.sha256(rules_file.read_bytes()).hexdigest())}, "
                    f"{sql_string(requested_by(settings))}, {sql_time(started)}, {sql_time(finished)}, "
                    f"{sql_string(done.flink_job_id) if done.flink_job_id else 'NULL'}, {done.matched}, "
                    f"{sql_map(list(done.written), [str(n) for n in done.written.values()])})")
    return done

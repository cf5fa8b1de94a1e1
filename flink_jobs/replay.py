"""Quarantine replay, a batch Flink job: the records quarantined for one rule (since a time) through the
validation and masking UDF again, with the rules shipped with the job (`flowlake quarantine replay`
ships the current udfs/rules/events.toml, or the file given), and the now-valid ones appended to their
silver tables with the ingest job's own inserts, each event id at most once: the event ids silver
already holds are left out, so a replay run twice, or after one that died midway, writes nothing twice.
The SQL is in sql/flink/ (view_quarantined_events, view_checked_events, view_replayed_events)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import catalog_sql, common_arguments, load_sql, parse
from iceberg import registry

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "replay")
    parser.add_argument("--rule", required=True, help="the rule id the records failed, e.g. payment.currency.enum")
    parser.add_argument("--since", default="1970-01-01T00:00:00+00:00",
                        help="records quarantined from this time on (RFC 3339)")
    parser.add_argument("--explain", action="store_true", help="print the plan instead of running it")
    return parser


def like_pattern(rule: str) -> str:
    """The rule id as a LIKE pattern (escape character \\) inside a SQL string literal."""
    return rule.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("'", "''")


def replay_views(args: argparse.Namespace) -> list[str]:
    """The views the silver inserts read: quarantined records, checked, now valid and new to silver."""
    from udfs.records import COLUMNS

    since = datetime.fromisoformat(args.since)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    columns = ",\n    ".join(f"checked.`{name}` AS `{name}`" for name in COLUMNS)
    silver_ids = " UNION ALL ".join(f"SELECT event_id FROM {args.catalog_name}.{table.identifier}"
                                    for table in registry.SILVER)
    return [load_sql("view_quarantined_events", catalog_name=args.catalog_name,
                     since_ms=int(since.timestamp() * 1000), rule=args.rule, rule_pattern=like_pattern(args.rule)),
            load_sql("view_checked_events"),
            load_sql("view_replayed_events", columns=columns, silver_event_ids=silver_ids)]


def build(args: argparse.Namespace) -> tuple[TableEnvironment, StatementSet]:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_jobs.ingest import hash_key_fingerprint
    from udfs import flink_udfs

    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = t_env.get_config()
    config.set("pipeline.name", args.job_name or f"flowlake-replay {args.rule}")
    config.set("table.local-time-zone", "UTC")
    t_env.execute_sql(catalog_sql(args))
    flink_udfs.register(t_env, key_fingerprint=hash_key_fingerprint())
    t_env.execute_sql(load_sql("function_event_time"))
    for view in replay_views(args):
        t_env.execute_sql(view)
    statements = t_env.create_statement_set()
    for table in registry.SILVER:
        statements.add_insert_sql(load_sql(table.insert, catalog_name=args.catalog_name))
    return t_env, statements


def main() -> None:
    from udfs.masking import MissingHashKey

    args = parse(arguments())
    try:
        _t_env, statements = build(args)
    except MissingHashKey as exc:
        sys.exit(f"flowlake replay job not submitted: {exc}")
    if args.explain:
        print(statements.explain())
        return
    result = statements.execute()
    job_client = result.get_job_client()
    print(f"REPLAY_JOB {job_client.get_job_id() if job_client else ''}", flush=True)
    result.wait()  # a batch job: every silver table committed when it returns


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

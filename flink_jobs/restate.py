"""Daily gold restated from silver, a batch Flink job: revenue and funnel per UTC day of event time over
whole days, the late events included (the stream's windows leave them out), each table's day partitions
overwritten in one commit (INSERT OVERWRITE: Iceberg's dynamic overwrite replaces the partitions written
and no other). Days that ended before --final-before are marked final. `flowlake gold restate` runs it
for the days that are not final yet; the SQL is sql/flink/restate_gold_*.sql."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import catalog_sql, common_arguments, load_sql, parse

STATEMENTS = ("restate_gold_revenue_daily", "restate_gold_funnel_daily")


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "restate")
    parser.add_argument("--from-day", type=date.fromisoformat, required=True, help="first day restated (YYYY-MM-DD)")
    parser.add_argument("--until-day", type=date.fromisoformat, required=True,
                        help="the day after the last one restated (YYYY-MM-DD)")
    parser.add_argument("--final-before", type=datetime.fromisoformat, required=True,
                        help="days that ended at or before this time (RFC 3339) are final")
    parser.add_argument("--explain", action="store_true", help="print the plan instead of running it")
    return parser


def epoch_ms(moment: date | datetime) -> int:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def statements_sql(args: argparse.Namespace) -> list[str]:
    if args.until_day <= args.from_day:
        sys.exit(f"flowlake restate job not submitted: --until-day {args.until_day} is not after --from-day "
                 f"{args.from_day}")
    return [load_sql(name, catalog_name=args.catalog_name, from_ms=epoch_ms(args.from_day),
                     until_ms=epoch_ms(args.until_day), final_before_ms=epoch_ms(args.final_before))
            for name in STATEMENTS]


def main() -> None:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    args = parse(arguments())
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = t_env.get_config()
    config.set("pipeline.name", args.job_name or "flowlake-restate")
    config.set("table.local-time-zone", "UTC")
    t_env.execute_sql(catalog_sql(args))
    statements = t_env.create_statement_set()
    for sql in statements_sql(args):
        statements.add_insert_sql(sql)
    if args.explain:
        print(statements.explain())
        return
    result = statements.execute()
    job_client = result.get_job_client()
    print(f"RESTATE_JOB {job_client.get_job_id() if job_client else ''}", flush=True)
    result.wait()  # a batch job: both tables committed when it returns


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

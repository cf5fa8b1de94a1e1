"""Run a Flink SQL script (statements separated by `;` at line ends) against the lakehouse catalog,
in batch or streaming mode. Useful for ad-hoc backfills and for checking Flink's view of tables."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pyflink.table import EnvironmentSettings, TableEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import catalog_sql, common_arguments, parse, split_statements


def main() -> None:
    parser = common_arguments(__doc__ or "sql script")
    parser.add_argument("--script", required=True, help="path of the SQL file")
    parser.add_argument("--mode", choices=("batch", "streaming"), default="batch")
    args = parse(parser)

    mode = EnvironmentSettings.in_batch_mode() if args.mode == "batch" else EnvironmentSettings.in_streaming_mode()
    t_env = TableEnvironment.create(mode)
    t_env.get_config().set("pipeline.name", args.job_name or f"flowlake-sql-{Path(args.script).stem}")
    t_env.execute_sql(catalog_sql(args))
    t_env.execute_sql(f"USE CATALOG {args.catalog_name}")
    statements = split_statements(Path(args.script).read_text())
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    for statement in statements:
        if statement not in inserts:
            t_env.execute_sql(statement)
    if inserts:
        statement_set = t_env.create_statement_set()
        for statement in inserts:
            statement_set.add_insert_sql(statement)
        statement_set.execute()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

"""Ingest job: Kafka topic -> lakehouse.bronze.events, exactly once (Flink checkpoints + Iceberg
commits per checkpoint + Kafka offsets restored from the checkpoint)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pyflink.table import EnvironmentSettings, TableEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import catalog_sql, common_arguments, load_sql, parse


def main() -> None:
    parser = common_arguments(__doc__ or "ingest")
    parser.add_argument("--topic", default="events")
    parser.add_argument("--group-id", default="flowlake-ingest")
    args = parse(parser)

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("pipeline.name", args.job_name or "flowlake-ingest")
    t_env.execute_sql(catalog_sql(args))
    t_env.execute_sql(load_sql("source_kafka_events", topic=args.topic, bootstrap=args.kafka_bootstrap,
                               group_id=args.group_id))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(load_sql("insert_bronze_events", catalog_name=args.catalog_name))
    result = statements.execute()
    job_client = result.get_job_client()
    logging.info("submitted job %s", job_client.get_job_id() if job_client else "?")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

"""What every flowlake job needs: its arguments, its SQL files and the catalog. Runs in the job
environment (PyFlink), so it imports nothing from the control environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from string import Template
from typing import Any

from flink_jobs.registry import KAFKA_PASSWORD_ENV

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "flink"


class _SqlTemplate(Template):
    # Only ${name} is a placeholder, so JSON paths ('$.event_id') keep their dollar signs.
    pattern = r"\$(?:(?P<escaped>\$(?=\{))|\{(?P<braced>[_a-z][_a-z0-9]*)\}|(?P<named>(?!))|(?P<invalid>(?!)))"  # type: ignore[assignment]


def load_sql(name: str, **values: object) -> str:
    """A statement from sql/flink/<name>.sql; a placeholder without a value raises KeyError."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    return _SqlTemplate(text).substitute({k: str(v) for k, v in values.items()}).strip().rstrip(";")


def common_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--kafka-security", choices=("sasl_ssl", "none"), default="none",
                        help="sasl_ssl: TLS and SCRAM-SHA-512 as --kafka-user, its password in "
                             f"{KAFKA_PASSWORD_ENV}, the broker's CA certificate in --kafka-ca-file")
    parser.add_argument("--kafka-user", default="")
    parser.add_argument("--kafka-ca-file", default="")
    parser.add_argument("--catalog-name", default="lakehouse")
    parser.add_argument("--catalog-jdbc-url", required=True)
    parser.add_argument("--catalog-user", default="flowlake")
    parser.add_argument("--warehouse", required=True, help="file:///path or s3://bucket/path")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="where this job's checkpoints go (default: the cluster's state.checkpoints.dir)")
    parser.add_argument("--s3-endpoint", default="", help="S3-compatible endpoint of an s3:// warehouse")
    parser.add_argument("--s3-region", default="us-east-1")
    parser.add_argument("--s3-path-style-access", default="true")
    parser.add_argument("--job-name", default=None)
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    # Flink passes options of its own in the same argument list: keep what is ours.
    args, _unknown = parser.parse_known_args()
    return args


def kafka_properties(args: argparse.Namespace) -> dict[str, str]:
    """The Kafka clients' security properties for the job's principal: empty for a broker without security."""
    if args.kafka_security == "none":
        return {}
    password = os.environ.get(KAFKA_PASSWORD_ENV, "")
    if not password or '"' in password or not args.kafka_user:
        raise SystemExit(f"--kafka-security sasl_ssl needs --kafka-user and its password in {KAFKA_PASSWORD_ENV} "
                         '(without a double quote): `flowlake submit` sets both')
    jaas = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{args.kafka_user}" password="{password}";')
    return {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": jaas,
            "ssl.truststore.type": "PEM", "ssl.truststore.location": args.kafka_ca_file}


def kafka_sql_options(args: argparse.Namespace) -> str:
    """kafka_properties as options of a Kafka table's WITH clause (each line ends with a comma)."""
    return "".join(f"\n  {sql_string('properties.' + k)} = {sql_string(v)}," for k, v in kafka_properties(args).items())


def sql_string(text: str) -> str:
    """A SQL string literal (Flink and Trino alike)."""
    return "'" + text.replace("'", "''") + "'"


def file_io_options(args: argparse.Namespace) -> dict[str, str]:
    """The Iceberg FileIO for the warehouse's URI scheme: Hadoop's for file://, S3FileIO (the AWS SDK
    in iceberg-aws-bundle) for s3://. Keys from the environment, else AWS's default credential chain."""
    if not args.warehouse.startswith("s3://"):
        return {}
    options = {"io-impl": "org.apache.iceberg.aws.s3.S3FileIO", "client.region": args.s3_region,
               "s3.path-style-access": args.s3_path_style_access}
    if args.s3_endpoint:
        options["s3.endpoint"] = args.s3_endpoint
    if os.environ.get("FLOWLAKE_S3_ACCESS_KEY"):
        options["s3.access-key-id"] = os.environ["FLOWLAKE_S3_ACCESS_KEY"]
        options["s3.secret-access-key"] = os.environ.get("FLOWLAKE_S3_SECRET_KEY", "")
    return options


def catalog_sql(args: argparse.Namespace) -> str:
    # Passwords and keys come from the environment, never from the command line (visible in `ps`).
    io_options = "".join(f",\n  {sql_string(k)} = {sql_string(v)}" for k, v in file_io_options(args).items())
    return load_sql("create_catalog", catalog_name=args.catalog_name, jdbc_url=args.catalog_jdbc_url,
                    jdbc_user=args.catalog_user, jdbc_password=os.environ.get("FLOWLAKE_CATALOG_PASSWORD", "flowlake"),
                    warehouse=args.warehouse, file_io_options=io_options)


def split_statements(script: str) -> list[str]:
    """Statements of a SQL script: split at `;` that ends a line; `--` comment lines dropped."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]


def stream_environment(args: argparse.Namespace) -> Any:
    """A DataStream job's environment: the consumer group the exporter knows it by, its checkpoint storage."""
    from pyflink.datastream import StreamExecutionEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.get_config().set_global_job_parameters({"flowlake.consumer-group": args.group_id})  # for the exporter
    if args.checkpoint_dir:
        env.get_checkpoint_config().set_checkpoint_storage_dir(args.checkpoint_dir)
    return env


def iceberg_table_environment(env: Any, args: argparse.Namespace) -> Any:
    """The Table API beside a DataStream job, for its Iceberg sinks: UTC, operator uids as the ingest job makes
    them (see flink_jobs/ingest.py), Iceberg's v2 sink, the catalog."""
    from pyflink.table import StreamTableEnvironment

    t_env = StreamTableEnvironment.create(env)
    config = t_env.get_config()
    config.set("table.local-time-zone", "UTC")
    config.set("table.exec.uid.generation", "ALWAYS")
    config.set("table.exec.iceberg.use-v2-sink", "true")
    t_env.execute_sql(catalog_sql(args))
    return t_env

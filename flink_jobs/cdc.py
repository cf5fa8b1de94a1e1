"""The cdc job (PyFlink DataStream and Table API): the operational database's captured tables ->
bronze.cdc_changes (every change as received) and one silver upsert table per captured table (its
current rows, PII masked), exactly once.

Source: the Flink CDC PostgreSQL incremental source (logical replication, pgoutput) built through
PyFlink's gateway, one replication slot for every table: an initial snapshot read in splits, then the
WAL from the slot, its position in Flink's checkpoints (the slot is confirmed only after a completed
checkpoint, so the source is at-least-once and the Iceberg commits with the checkpoint make it exactly
once). Each change arrives as a Debezium JSON envelope, parsed once (udfs.cdc). A run from no state
snapshots the tables again: it empties their silver tables first (rows deleted at the source meanwhile
would stay otherwise).

Silver: per table, the changes as a changelog (insert, update before/after, delete) with the table's
primary key, into an Iceberg v2 table in upsert mode: a row per key, an update or delete an equality
delete. Runs at parallelism 1 (one reader holds the WAL stream anyway): every change of a key then
reaches its writer in the order of the WAL.

Every operator has a uid, so the job restores from a savepoint. The captured tables, their columns
and PII policies are in iceberg/registry.py (`captured`, `masked`); the INSERTs in sql/flink/."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import common_arguments, iceberg_table_environment, load_sql, parse, stream_environment
from flink_jobs.registry import CDC, CDC_PASSWORD_ENV
from iceberg import registry

SOURCE_CLASS = "PostgresSourceBuilder$PostgresIncrementalSource"  # a nested class: '$'


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "cdc")
    parser.add_argument("--host", default="127.0.0.1", help="the source PostgreSQL server")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--database", default="shop")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--tables", default="customers,products,order_status",
                        help="comma-separated; each a captured table of iceberg/registry.py")
    parser.add_argument("--user", default="flowlake_cdc",
                        help=f"a REPLICATION user; its password in {CDC_PASSWORD_ENV}")
    parser.add_argument("--slot", default="flowlake_cdc", help="the replication slot (made at the first start)")
    parser.add_argument("--publication", default="flowlake_cdc", help="made by the database's owner beforehand")
    parser.add_argument("--split-size", type=int, default=8096, help="rows per snapshot split")
    parser.add_argument("--connector-jars", default="", help="the Flink CDC connector jar(s), ';'-separated: "
                        "`flowlake submit cdc` gives them")
    parser.add_argument("--group-id", default=CDC.group_id,
                        help="the name flowlake's exporter knows the job by (it reads no Kafka)")
    return parser


def captured_tables(names: str) -> list[registry.Table]:
    tables = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in registry.CAPTURED:
            raise SystemExit(f"--tables: {name!r} is not a captured table of iceberg/registry.py "
                             f"(those are {', '.join(registry.CAPTURED)})")
        tables.append(registry.CAPTURED[name])
    return tables


def _string_array(gateway: Any, values: list[str]) -> Any:
    array = gateway.new_array(gateway.jvm.java.lang.String, len(values))  # Java varargs want a String[]
    for i, value in enumerate(values):
        array[i] = value
    return array


def cdc_source(args: argparse.Namespace, tables: list[registry.Table]) -> Any:
    from pyflink.datastream.connectors import Source
    from pyflink.java_gateway import get_gateway

    gateway = get_gateway()
    jvm = gateway.jvm
    debezium = jvm.java.util.Properties()
    debezium.setProperty("publication.name", args.publication)
    # The publication is the owner's to make; the replication user only reads it.
    debezium.setProperty("publication.autocreate.mode", "disabled")
    debezium.setProperty("decimal.handling.mode", "string")  # else NUMERIC arrives as base64 bytes
    builder = getattr(jvm.org.apache.flink.cdc.connectors.postgres.source, SOURCE_CLASS).builder()
    source = (builder.hostname(args.host).port(args.port).database(args.database)
              .schemaList(_string_array(gateway, [args.schema]))
              .tableList(_string_array(gateway, [f"{args.schema}.{t.name}" for t in tables]))
              .username(args.user).password(os.environ.get(CDC_PASSWORD_ENV, ""))
              .slotName(args.slot).decodingPluginName("pgoutput")
              .debeziumProperties(debezium)
              .startupOptions(jvm.org.apache.flink.cdc.connectors.base.options.StartupOptions.initial())
              .splitSize(args.split_size)
              .deserializer(jvm.org.apache.flink.cdc.debezium.JsonDebeziumDeserializationSchema())
              .build())
    return Source(source)


def restoring(env: Any) -> bool:
    """Whether this run restores state (`flink run -s`, `flowlake submit --resume`, the Kubernetes operator's
    last-state and savepoint upgrades): the source then resumes in the WAL where its checkpoint left it."""
    from pyflink.java_gateway import get_gateway

    options = get_gateway().jvm.org.apache.flink.configuration.StateRecoveryOptions
    return bool(env._j_stream_execution_environment.getConfiguration().getOptional(options.SAVEPOINT_PATH)
                .isPresent())


def empty_for_snapshot(t_env: Any, catalog_name: str, tables: list[registry.Table]) -> None:
    """A run from no state reads the tables anew (the initial snapshot) and knows nothing of the rows deleted
    at the source since an earlier run wrote silver: empty each silver table first (a metadata-only delete),
    so that the snapshot is its whole content again. Readers see the table fill up meanwhile."""
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    catalog = t_env._j_tenv.getCatalog(catalog_name).get().catalog()  # Iceberg's FlinkCatalog
    for table in tables:
        iceberg_table = catalog.loadTable(jvm.org.apache.iceberg.catalog.TableIdentifier.parse(table.identifier))
        if iceberg_table.currentSnapshot() is not None:
            iceberg_table.newDelete().deleteFromRowFilter(jvm.org.apache.iceberg.expressions.Expressions
                                                          .alwaysTrue()).commit()
            logging.info("%s emptied for the initial snapshot", table.identifier)


def main() -> None:
    from udfs.masking import MissingHashKey, key_fingerprint, load_hash_key

    args = parse(arguments())
    if not os.environ.get(CDC_PASSWORD_ENV):
        raise SystemExit(f"the cdc job needs its database password in {CDC_PASSWORD_ENV}: `flowlake submit cdc` "
                         "sets it")
    if not args.connector_jars:
        raise SystemExit("the cdc job needs --connector-jars (the Flink CDC PostgreSQL connector): `flowlake submit "
                         "cdc` gives them")
    tables = captured_tables(args.tables)
    try:
        fingerprint = key_fingerprint(load_hash_key())  # every worker must hash with this client's key
    except MissingHashKey as exc:
        sys.exit(f"flowlake cdc job not submitted: {exc}")

    from pyflink.common import Types, WatermarkStrategy
    from pyflink.table import DataTypes, Schema
    from pyflink.util.java_utils import add_jars_to_context_class_loader

    from udfs import cdc
    from udfs.flink_cdc import BronzeRows, SilverRows, row_type

    env = stream_environment(args)
    env.set_parallelism(1)
    # The catalog first: the connector jar carries a PostgreSQL driver of its own, and once it is in the
    # client's class loader the catalog's JDBC connection finds no driver it may use.
    t_env = iceberg_table_environment(env, args)
    if not restoring(env):
        empty_for_snapshot(t_env, args.catalog_name, tables)
    jars = [Path(jar).resolve().as_uri() for jar in args.connector_jars.split(";")]
    env.add_jars(*jars)  # shipped with the job
    add_jars_to_context_class_loader(jars)  # and visible to the gateway that builds the source

    changes = (env.from_source(cdc_source(args, tables), WatermarkStrategy.no_watermarks(), "postgres changes",
                               type_info=Types.STRING()).uid("cdc-source")
               .map(cdc.parse_change, output_type=Types.PICKLED_BYTE_ARRAY()).name("parse changes")
               .uid("cdc-parse"))
    bronze = registry.BRONZE_CDC_CHANGES
    bronze_rows = (changes.map(BronzeRows({t.name: t.key for t in tables}), output_type=row_type(bronze.columns))
                   .name("bronze rows").uid("cdc-bronze-rows"))

    t_env.create_temporary_view("cdc_changes", t_env.from_data_stream(bronze_rows))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(load_sql(bronze.insert, catalog_name=args.catalog_name))
    flink_types = {"int": DataTypes.INT(), "long": DataTypes.BIGINT()}  # the rest as text, cast by the INSERT
    for table in tables:
        masked = {column: (entity, policy) for column, entity, policy in table.masked}
        rows = (changes.flat_map(SilverRows(table.name, table.columns, masked, fingerprint),
                                 output_type=row_type(table.columns))
                .name(f"{table.name} changes").uid(f"cdc-{table.name}"))
        schema = Schema.new_builder()
        for name, type_, _required, _doc in table.columns:
            data_type = flink_types.get(type_, DataTypes.STRING())
            schema = schema.column(name, data_type.not_null() if name in table.key else data_type)
        changelog = t_env.from_changelog_stream(rows, schema.primary_key(*table.key).build())
        t_env.create_temporary_view(f"cdc_{table.name}", changelog)
        statements.add_insert_sql(load_sql(table.insert, catalog_name=args.catalog_name))
    statements.attach_as_datastream()
    env.execute(args.job_name or CDC.pipeline_name)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

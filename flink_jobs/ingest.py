"""The medallion job: one Kafka (or Pulsar) topic -> bronze, quarantine, silver (one table per event type) and
gold Iceberg tables, in one statement set, exactly once (Flink checkpoints, Iceberg commits per
checkpoint, source positions restored from the checkpoint). Every operator has a uid, so the job
restores from a savepoint after a code change. The SQL is in sql/flink/."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import catalog_sql, common_arguments, kafka_sql_options, load_sql, parse
from flink_jobs.registry import INGEST
from iceberg import registry

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

# How records are checked: the validation and masking UDF, or (benchmarks only) SQL that takes them as
# they are ("passthrough"), or an identity Python UDF into bronze alone ("bridge": what the Python
# bridge allows by itself).
CHECKS = {"python": "view_checked_events", "passthrough": "view_checked_events_passthrough",
          "bridge": "view_checked_events_passthrough"}
# The benchmark variants store records unmasked: only into a catalog of their own, whose name starts so.
BENCH_CATALOG_PREFIX = "bench"
VIEWS = ("view_distinct_events", "view_on_time_events", "view_gold_inputs",
         "view_gold_order_lines", "view_withdrawal_requests", "view_consent_withdrawals")
SILVER_TOPIC_INSERT = "insert_silver_events_topic"
# Views registered from their planned query rather than as SQL text: a SQL view is planned again for each
# sink that reads it, and an UNNEST planned twice differs (its correlation ids), so the planner would run it
# and everything after it once per sink. Only views added since savepoints were first taken: registering
# an older view this way changes the plan, and so the operators' uids.
SHARED_VIEWS = ("view_consent_withdrawals",)
_VIEW = re.compile(r"^CREATE TEMPORARY VIEW (\w+) AS\n(.*)", re.S | re.M)
CONSENT_TOPIC_INSERT = "insert_consent_topic"


def inserts() -> tuple[str, ...]:
    """The job's statements in the order that numbers its operators: one per table the registry says this
    job writes, in the registry's order, with each topic's next to the table it was added with: the silver
    topic's before the privacy requests, where it has always been, the consent topic's after the consent
    table. A table appended to the registry appends its statement, and the operators of the others keep
    their uids."""
    statements: list[str] = []
    for table in registry.written_by(INGEST.name):
        if table is registry.GOLD_PRIVACY_REQUESTS:
            statements.append(SILVER_TOPIC_INSERT)
        statements.append(table.insert)
        if table is registry.GOLD_CONSENT:
            statements.append(CONSENT_TOPIC_INSERT)
    return tuple(statements)


INSERTS = inserts()


def privacy_values() -> dict[str, str]:
    """What the privacy statements take from udfs.privacy: the intents this job carries out (SQL list) and
    the purposes each withdraws consent for (an array per intent)."""
    from udfs import privacy

    arrays = " ".join(f"WHEN '{intent}' THEN ARRAY[{', '.join(repr(p) for p in purposes)}]"
                      for intent, purposes in privacy.WITHDRAWS.items())
    return {"response_days": str(privacy.RESPONSE_DAYS),
            "withdrawing_intents": ", ".join(f"'{intent}'" for intent in privacy.WITHDRAWS),
            "withdrawn_purposes": f"CASE intent {arrays} END"}


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pipeline_jars(connector_jars: str) -> list[Path]:
    """The connector jars plus PyFlink's own: a pipeline.jars set by the job replaces the list that
    `flink run --python` made, which held flink-python's jar (the Python operators)."""
    import pyflink

    flink_python = sorted((Path(pyflink.__file__).parent / "opt").glob("flink-python*.jar"))
    return [Path(jar).resolve() for jar in connector_jars.split(";")] + flink_python


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "ingest")
    parser.add_argument("--source", choices=("kafka", "pulsar"), default="kafka",
                        help="the broker the events topic is on (the silver topic is always on Kafka)")
    parser.add_argument("--topic", default="events",
                        help="Kafka topic, or Pulsar topic URL (persistent://public/default/events)")
    parser.add_argument("--pulsar-service-url", default="pulsar://127.0.0.1:6650")
    parser.add_argument("--connector-jars", default="",
                        help="jars shipped with the job (pipeline.jars, ';'-separated paths): the Pulsar "
                             "connector, which is not in Flink's lib/")
    parser.add_argument("--group-id", default=INGEST.group_id,
                        help="Kafka consumer group or Pulsar subscription; also the prefix of the silver "
                             "topic's transactional ids")
    parser.add_argument("--silver-topic", default="events.silver",
                        help="where every valid, masked, deduplicated event is published, keyed by user_id")
    parser.add_argument("--consent-topic", default="consent",
                        help="compacted topic where each change of the consent state is published, keyed by "
                             "user token and purpose")
    parser.add_argument("--allowed-lateness-seconds", type=int, default=30,
                        help="watermark delay: events later than this miss their gold window")
    parser.add_argument("--idle-timeout-seconds", type=int, default=30,
                        help="a Kafka partition without records this long stops holding the watermark back; "
                             "0 never (an idle partition then stalls the gold windows, but records of a "
                             "partition that wakes up are never late because others ran ahead)")
    parser.add_argument("--dedup-ttl-hours", type=int, default=24,
                        help="how long an event_id is remembered for deduplication")
    parser.add_argument("--checkpoint-interval-seconds", type=int, default=None,
                        help="how often Iceberg commits (default: the cluster's execution.checkpointing.interval)")
    parser.add_argument("--gold-written-until", type=_utc, default=datetime(1970, 1, 1, tzinfo=UTC),
                        help="end of the newest gold window already written (RFC 3339; `flowlake submit` reads it "
                             "from the gold tables): events before it are late even while the watermark is "
                             "unknown after a restart")
    parser.add_argument("--checks", choices=sorted(CHECKS), default="python",
                        help="benchmarks only, into a bench catalog (--catalog-name bench...): 'passthrough' "
                             "replaces the validation and masking UDF with SQL that takes every record as valid, "
                             "unmasked, to measure what the Python UDF costs; 'bridge' runs an identity Python UDF "
                             "into bronze alone, the ceiling PyFlink's bridge allows")
    parser.add_argument("--poison-pill", default="",
                        help="fault injection for tests: the check_event UDF fails on every payload containing this "
                             "text, as a bug would; resubmit without it (flowlake submit ingest --resume) to recover")
    parser.add_argument("--explain", action="store_true", help="print the plan instead of running it")
    return parser


def hash_key_fingerprint() -> str:
    """The fingerprint of this client's PII key, which every worker must share. No key, no job: a job
    that could not hash would write nothing masked (its workers fail), so it is refused at the start."""
    from udfs import records
    from udfs.masking import key_fingerprint, load_hash_key

    return key_fingerprint(load_hash_key()) if records.needs_hash_key() else ""


def refuse_unsafe(args: argparse.Namespace) -> None:
    """A benchmark variant writes records as received (names, emails, card numbers) into silver and
    gold: never into the lakehouse's tables, only into a bench catalog's."""
    if args.checks != "python" and not args.catalog_name.startswith(BENCH_CATALOG_PREFIX):
        sys.exit(f"flowlake ingest job not submitted: --checks {args.checks} stores records unmasked and is for "
                 f"benchmarks only; its tables must be a bench catalog's (--catalog-name {BENCH_CATALOG_PREFIX}..., "
                 f"as bench/pipeline_bench.py does), not {args.catalog_name!r}")


def insert_statements(args: argparse.Namespace) -> list[str]:
    """The job's INSERTs, in the order that gives operators their uids."""
    if args.checks == "bridge":
        return [load_sql("bench_insert_bridge", catalog_name=args.catalog_name)]
    return [load_sql(insert, catalog_name=args.catalog_name, **privacy_values()) for insert in INSERTS]


def build(args: argparse.Namespace) -> tuple[TableEnvironment, StatementSet]:
    """The job's table environment (catalog, UDFs, source, views) and its statement set."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from udfs import flink_udfs, validation

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("pipeline.name", args.job_name or INGEST.pipeline_name)
    config.set("table.local-time-zone", "UTC")
    if args.checkpoint_interval_seconds:
        config.set("execution.checkpointing.interval", f"{args.checkpoint_interval_seconds} s")
    if args.checkpoint_dir:
        config.set("state.checkpoints.dir", args.checkpoint_dir)
    config.set("table.exec.state.ttl", f"{args.dedup_ttl_hours} h")
    # Read by the exporter (the JobManager's /jobs/<id>/config): which consumer group's lag is this job's, so
    # that a job that stopped does not also page for its lag (Alertmanager's inhibition by `group`).
    config.set("pipeline.global-job-parameters", f"flowlake.consumer-group:{args.group_id}")
    # Chained operators hand records on without a defensive copy each: the SQL runtime's operators (and
    # the Python operator, which copies what it keeps while Python works) never hold an input record.
    config.set("pipeline.object-reuse", "true")
    config.set("table.exec.source.idle-timeout", f"{args.idle_timeout_seconds} s")
    # The views are shared by several sinks: optimise each shared view once, so that the Python UDF
    # and the deduplication run once per record, not once per sink that reads them.
    config.set("table.optimizer.reuse-optimize-block-with-digest-enabled", "true")
    # Every operator gets a uid from its place in the plan, not only the sinks: the Kafka offsets,
    # the deduplication state and open windows then map back from a savepoint after statements are
    # added or expressions change (tests/integration/test_savepoint_uids.py). The ids come from a
    # counter in the client JVM, which translates this job once per `flink run`.
    config.set("table.exec.uid.generation", "ALWAYS")
    # Iceberg's SinkV2 writer and committer take their uids from the `uid-suffix` write option of
    # each INSERT; the legacy sink ignores that option and leaves them to Flink's topology hash.
    config.set("table.exec.iceberg.use-v2-sink", "true")
    if args.connector_jars:
        config.set("pipeline.jars", ";".join(jar.as_uri() for jar in _pipeline_jars(args.connector_jars)))
    t_env.execute_sql(catalog_sql(args))
    # masking policies per field: udfs/rules/events.toml
    flink_udfs.register(t_env, key_fingerprint=hash_key_fingerprint(), poison_pill=args.poison_pill,
                        identity=args.checks == "bridge")
    max_future = validation.load_rules().common["event_time"]["max_future_seconds"]
    topic = args.topic
    if args.source == "pulsar" and "://" not in topic:
        topic = f"persistent://public/default/{topic}"
    t_env.execute_sql(load_sql("function_event_time"))
    event_time_columns = load_sql("columns_event_time", max_future_seconds=max_future,
                                  allowed_lateness_seconds=args.allowed_lateness_seconds)
    kafka_options = kafka_sql_options(args)
    t_env.execute_sql(load_sql(f"source_{args.source}_events", topic=topic, bootstrap=args.kafka_bootstrap,
                               service_url=args.pulsar_service_url, group_id=args.group_id,
                               event_time_columns=event_time_columns, kafka_options=kafka_options))
    t_env.execute_sql(load_sql("sink_kafka_silver_events", silver_topic=args.silver_topic,
                               bootstrap=args.kafka_bootstrap, transactional_id_prefix=f"{args.group_id}-silver",
                               kafka_options=kafka_options))
    t_env.execute_sql(load_sql("sink_kafka_consent", consent_topic=args.consent_topic, bootstrap=args.kafka_bootstrap,
                               transactional_id_prefix=f"{args.group_id}-consent", kafka_options=kafka_options))
    floor = args.gold_written_until - timedelta(milliseconds=1)
    t_env.execute_sql(load_sql(CHECKS[args.checks]))
    for view in VIEWS:
        sql = load_sql(view, watermark_floor=floor.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], **privacy_values())
        if view in SHARED_VIEWS:
            name, query = _VIEW.search(sql).groups()  # type: ignore[union-attr]
            t_env.create_temporary_view(name, t_env.sql_query(query))
        else:
            t_env.execute_sql(sql)
    statements = t_env.create_statement_set()
    for sql in insert_statements(args):
        statements.add_insert_sql(sql)
    return t_env, statements


def main() -> None:
    from udfs.masking import MissingHashKey

    args = parse(arguments())
    refuse_unsafe(args)
    try:
        hash_key_fingerprint()
    except MissingHashKey as exc:
        sys.exit(f"flowlake ingest job not submitted: {exc}")
    _t_env, statements = build(args)
    if args.explain:
        print(statements.explain())
        return
    result = statements.execute()
    job_client = result.get_job_client()
    logging.info("submitted job %s", job_client.get_job_id() if job_client else "?")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

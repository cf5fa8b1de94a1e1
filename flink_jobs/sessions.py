"""The sessions job (PyFlink DataStream API): sessions per user and velocity alerts per card, from
the silver topic the medallion job publishes.

Source: the silver topic, not the silver tables. Its records are already validated, masked and
deduplicated, committed in Kafka transactions with each checkpoint (read_committed), keyed by user
and stamped with their event time, so the Kafka source makes per-partition watermarks in the JVM
(bounded out-of-orderness, idleness) and the job sees each event seconds after the medallion job's
checkpoint. Iceberg's streaming source would add a snapshot poll to that delay, has no PyFlink
DataStream wrapper and reads a commit's files in no particular order, which a watermark cannot
bound.

Sinks: gold.sessions and gold.alerts in Iceberg (through the Table API, exactly once per checkpoint)
and the alerts topic through a transactional KafkaSink (exactly once: read it with read_committed).
Every operator has a uid, so the job restores from a savepoint."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flink_jobs.common import (
    common_arguments,
    iceberg_table_environment,
    kafka_properties,
    load_sql,
    parse,
    stream_environment,
)
from flink_jobs.registry import SESSIONS
from iceberg import registry

# In the registry's order, which numbers the operators: append only.
INSERTS = tuple(table.insert for table in registry.written_by(SESSIONS.name))


def arguments() -> argparse.ArgumentParser:
    parser = common_arguments(__doc__ or "sessions")
    parser.add_argument("--silver-topic", default="events.silver")
    parser.add_argument("--alerts-topic", default="alerts")
    parser.add_argument("--group-id", default=SESSIONS.group_id,
                        help="Kafka consumer group; also the prefix of the alerts sink's transactional ids")
    parser.add_argument("--session-gap-minutes", type=float, default=30, help="inactivity that ends a session")
    parser.add_argument("--out-of-orderness-seconds", type=int, default=30,
                        help="how far behind the newest event of a partition an event may arrive")
    parser.add_argument("--idle-timeout-seconds", type=int, default=30,
                        help="a partition without records this long stops holding the watermark back; 0 never")
    parser.add_argument("--max-payments", type=int, default=3, help="alert above this many payments of a card ...")
    parser.add_argument("--max-amount", type=float, default=1000.0, help="... or above this amount in all ...")
    parser.add_argument("--velocity-span-minutes", type=float, default=10, help="... within this span")
    parser.add_argument("--state-ttl-hours", type=float, default=24,
                        help="keyed state untouched this long (processing time) is dropped")
    parser.add_argument("--state-backend", choices=("hashmap", "rocksdb"), default=None,
                        help="default: the cluster's state.backend.type")
    return parser


def _committed_offsets_or_earliest() -> Any:
    """The group's committed offsets, the earliest where it has none. PyFlink's own
    KafkaOffsetResetStrategy names the classes of the shaded SQL connector jar; the stack ships the
    plain connector (its shaded jar is not on Maven Central for 1.20), so the Java call is made here."""
    from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    initializers = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer
    earliest = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    return KafkaOffsetsInitializer(initializers.committedOffsets(earliest))


def main() -> None:
    args = parse(arguments())

    from pyflink.common import Duration, Types, WatermarkStrategy
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream.connectors.base import DeliveryGuarantee
    from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink, KafkaSource
    from pyflink.datastream.state_backend import EmbeddedRocksDBStateBackend, HashMapStateBackend

    from udfs.flink_sessions import ALERT_ROW, SESSION_ROW, CardVelocity, Sessionize
    from udfs.sessions import VelocityRule, parse_event

    env = stream_environment(args)
    if args.state_backend:
        env.set_state_backend(EmbeddedRocksDBStateBackend() if args.state_backend == "rocksdb"
                              else HashMapStateBackend())
    source = (KafkaSource.builder()
              .set_bootstrap_servers(args.kafka_bootstrap)
              .set_topics(args.silver_topic)
              .set_group_id(args.group_id)
              .set_starting_offsets(_committed_offsets_or_earliest())
              .set_value_only_deserializer(SimpleStringSchema())
              .set_property("isolation.level", "read_committed"))
    kafka = kafka_properties(args)
    for key, value in kafka.items():
        source = source.set_property(key, value)
    source = source.build()
    # No timestamp assigner: the Kafka record timestamp is the event time (the medallion job sets it).
    watermarks = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(args.out_of_orderness_seconds))
    if args.idle_timeout_seconds > 0:
        watermarks = watermarks.with_idleness(Duration.of_seconds(args.idle_timeout_seconds))
    events = (env.from_source(source, watermarks, "silver events").uid("silver-events-source")
              .map(parse_event, output_type=Types.PICKLED_BYTE_ARRAY()).name("parse").uid("parse-events")
              .filter(lambda event: event is not None).name("parsed").uid("parsed-events"))

    gap_ms = int(args.session_gap_minutes * 60_000)
    sessions = (events.key_by(lambda event: event.user_id, key_type=Types.STRING())
                .process(Sessionize(gap_ms, args.state_ttl_hours), output_type=SESSION_ROW)
                .name("sessions").uid("sessions"))
    rule = VelocityRule(args.max_payments, round(args.max_amount * 100), int(args.velocity_span_minutes * 60_000))
    alerts = (events.filter(lambda event: event.card_token is not None).name("card payments").uid("card-payments")
              .key_by(lambda event: event.card_token, key_type=Types.STRING())
              .process(CardVelocity(rule, args.state_ttl_hours), output_type=ALERT_ROW)
              .name("card velocity").uid("card-velocity"))

    alerts_topic = (KafkaSink.builder()
                    .set_bootstrap_servers(args.kafka_bootstrap)
                    .set_record_serializer(KafkaRecordSerializationSchema.builder()
                                           .set_topic(args.alerts_topic)
                                           .set_value_serialization_schema(SimpleStringSchema())
                                           .build())
                    .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
                    .set_transactional_id_prefix(f"{args.group_id}-alerts"))
    for key, value in kafka.items():
        alerts_topic = alerts_topic.set_property(key, value)
    alerts_topic = alerts_topic.build()
    (alerts.map(lambda alert: alert.json, output_type=Types.STRING()).name("alert json").uid("alert-json")
     .sink_to(alerts_topic).name("alerts topic").uid("alerts-topic"))

    t_env = iceberg_table_environment(env, args)
    t_env.create_temporary_view("closed_sessions", t_env.from_data_stream(sessions))
    t_env.create_temporary_view("velocity_alerts", t_env.from_data_stream(alerts))
    statements = t_env.create_statement_set()
    for insert in INSERTS:
        statements.add_insert_sql(load_sql(insert, catalog_name=args.catalog_name))
    statements.attach_as_datastream()
    env.execute(args.job_name or SESSIONS.pipeline_name)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main()

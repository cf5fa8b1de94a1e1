"""`flowlake exporter`: Kafka consumer lag from the broker's side, the state of every Flink job (also of
one that stopped), privacy-request deadlines and table-check results, for Prometheus.

A second opinion beside Flink's own `pendingRecords`: what each consumer group (the Flink jobs
commit their group's offsets on every completed checkpoint) has committed against the end of each
partition, read fresh from the broker on every scrape. End offsets are the last stable offsets (what
a read_committed consumer can reach: transactional topics such as the silver topic carry commit
markers beyond it), so a caught-up group shows lag 0. The rate of the end offsets is the produce rate
of every producer, the generator included.

Metrics:
  flowlake_kafka_consumergroup_lag{group,topic,partition}               end offset - committed offset
  flowlake_kafka_consumergroup_committed_offset{group,topic,partition}
  flowlake_kafka_topic_end_offset{topic,partition}                       rate() of it = records produced/s
  flowlake_kafka_exporter_up                                             1 if the last scrape reached Kafka
  flowlake_kafka_exporter_scrape_duration_seconds
  flowlake_flink_job_running{job_name,job_type,group,state}             1 if the newest job of that name runs
  flowlake_flink_rest_up                                                 1 if the last scrape reached Flink
  flowlake_privacy_requests_open{intent}                                 requests not carried out yet
  flowlake_privacy_requests_overdue{intent}                              of those, past their due date
  flowlake_privacy_requests_oldest_due_timestamp_seconds{intent}         the earliest due date of the open ones
  flowlake_privacy_requests_read_ok                                      1 if the last read through Trino worked

  flowlake_quality_check_passed{check,table,subject}                     1 if the latest run of the check passed
  flowlake_quality_check_observed{check,table,subject}                   the value it measured
  flowlake_quality_check_last_run_timestamp_seconds{check,table}         when it last ran
  flowlake_quality_checks_read_ok                                        1 if the last read through Trino worked

  flowlake_cdc_slot_retained_wal_bytes{slot}                             WAL the database keeps for the slot
  flowlake_cdc_slot_active{slot}                                         1 if a reader (the cdc job) is attached
  flowlake_cdc_slots_read_ok                                             1 if the last read of the slots worked

The privacy figures come from one Trino query (sql/trino/privacy_deadlines.sql) at most every
privacy_metrics_interval_seconds, not on every scrape; Trino down is a 0 in read_ok, never a crash.
The quality figures likewise, from analytics.quality_status (sql/trino/quality_status.sql).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowlake.config import REPO_ROOT, Settings
from flowlake.kafka_security import client_config

log = logging.getLogger("flowlake.exporter")
# Per Kafka request: a scrape must answer within Prometheus's scrape timeout (10 s) even when a partition's
# request runs into it.
TIMEOUT_SECONDS = 5.0
DEADLINES_SQL = REPO_ROOT / "sql" / "trino" / "privacy_deadlines.sql"
QUALITY_SQL = REPO_ROOT / "sql" / "trino" / "quality_status.sql"


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        # A committed offset past the stable end (an aborted transaction's records) is no lag.
        return max(self.end - self.committed, 0)


def lags(committed: dict[str, dict[tuple[str, int], int]], ends: dict[tuple[str, int], int]) -> list[PartitionLag]:
    """Lag of every partition a group has committed an offset for (groups that have not committed one
    yet, a Flink job before its first checkpoint, have none)."""
    return [PartitionLag(group, topic, partition, offset, ends[(topic, partition)])
            for group, offsets in sorted(committed.items())
            for (topic, partition), offset in sorted(offsets.items())
            if offset >= 0 and (topic, partition) in ends]


class KafkaLagCollector(Collector):
    def __init__(self, settings: Settings, group_pattern: str = ".*") -> None:
        # librdkafka's own log lines through Python's logging: JSON lines like the rest, not raw stderr.
        # As the `exporter` principal: it may describe groups and topics, and read no record.
        self.config = {**client_config(settings, "exporter"), "logger": log}
        self.admin = AdminClient(self.config)
        self.groups = re.compile(group_pattern)

    def offsets(self) -> tuple[dict[tuple[str, int], int], dict[str, dict[tuple[str, int], int]]]:
        """(end offset per partition, committed offsets per group), both sets of requests in flight at once: a
        slow partition costs one timeout, not two. After the broker restarts, librdkafka's cached leaders can stay
        wrong for some partitions (every ListOffsets of theirs answered NOT_LEADER_FOR_PARTITION for minutes in the
        fault tests): a read that missed any makes the next one start from a new client and new metadata."""
        end_futures, committed_futures = self.request_ends(), self.request_committed()
        ends, committed = self.read_ends(end_futures), self.read_committed(committed_futures)
        if len(ends) < len(end_futures) or len(committed) < len(committed_futures):
            self.admin = AdminClient(self.config)
        return ends, committed

    def request_committed(self) -> dict[str, Any]:
        listed = self.admin.list_consumer_groups(request_timeout=TIMEOUT_SECONDS).result()
        names = sorted(g.group_id for g in listed.valid if self.groups.fullmatch(g.group_id))
        # One group per request (the admin API's rule for list_consumer_group_offsets), all requests in flight at
        # once: one after the other, a scrape took a round trip per group, over Prometheus's timeout once a broker
        # had seen a few dozen groups.
        return {name: self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(name)],
                                                             request_timeout=TIMEOUT_SECONDS)[name]
                for name in names}

    def read_committed(self, futures: dict[str, Any]) -> dict[str, dict[tuple[str, int], int]]:
        committed: dict[str, dict[tuple[str, int], int]] = {}
        for name, future in futures.items():
            try:
                partitions = future.result().topic_partitions
            except KafkaException as exc:  # one group's coordinator moving: the others are still worth a scrape
                log.warning("offsets of group %s not read: %s", name, exc)
                continue
            committed[name] = {(tp.topic, tp.partition): tp.offset for tp in partitions if tp.error is None}
        return committed

    def request_ends(self) -> dict[TopicPartition, Any]:
        metadata = self.admin.list_topics(timeout=TIMEOUT_SECONDS)
        partitions = [TopicPartition(topic, p) for topic, t in metadata.topics.items()
                      if not topic.startswith("__") for p in t.partitions]
        if not partitions:
            return {}
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        return self.admin.list_offsets({tp: latest for tp in partitions}, isolation_level=IsolationLevel.READ_COMMITTED,
                                       request_timeout=TIMEOUT_SECONDS)

    def read_ends(self, futures: dict[TopicPartition, Any]) -> dict[tuple[str, int], int]:
        ends = {}
        for tp, future in futures.items():
            try:
                ends[(tp.topic, tp.partition)] = future.result().offset
            except KafkaException as exc:  # a topic deleted since it was listed, a partition without a leader
                log.warning("end offset of %s[%d] not read: %s", tp.topic, tp.partition, exc)
        return ends

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.monotonic()
        up = GaugeMetricFamily("flowlake_kafka_exporter_up", "1 if the last scrape reached Kafka")
        try:
            ends, committed = self.offsets()
        except KafkaException as exc:
            log.warning("Kafka not reachable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        end_offsets = GaugeMetricFamily("flowlake_kafka_topic_end_offset",
                                        "last stable offset of each partition; its rate is records produced/s",
                                        labels=["topic", "partition"])
        for (topic, partition), offset in sorted(ends.items()):
            end_offsets.add_metric([topic, str(partition)], offset)
        lag = GaugeMetricFamily("flowlake_kafka_consumergroup_lag", "records between the group's committed offset "
                                "and the partition's end", labels=["group", "topic", "partition"])
        offsets = GaugeMetricFamily("flowlake_kafka_consumergroup_committed_offset", "the group's committed offset",
                                    labels=["group", "topic", "partition"])
        for item in lags(committed, ends):
            labels = [item.group, item.topic, str(item.partition)]
            lag.add_metric(labels, item.lag)
            offsets.add_metric(labels, item.committed)
        up.add_metric([], 1)
        duration = GaugeMetricFamily("flowlake_kafka_exporter_scrape_duration_seconds", "time to read the offsets")
        duration.add_metric([], time.monotonic() - started)
        yield from (end_offsets, lag, offsets, up, duration)


@dataclass(frozen=True)
class Deadlines:
    open: int
    overdue: int
    oldest_due: float | None  # epoch seconds


def deadlines(rows: list[list[Any]], intents: tuple[str, ...]) -> dict[str, Deadlines]:
    """(intent, open, overdue, oldest due) rows of the query -> every intent, the ones without open requests 0."""
    found = {str(intent): Deadlines(int(open_), int(overdue), due.timestamp() if due is not None else None)
             for intent, open_, overdue, due in rows}
    every = (*intents, *sorted(set(found) - set(intents)))
    return {intent: found.get(intent, Deadlines(0, 0, None)) for intent in every}


class TrinoReadCollector(Collector):
    """Metrics from one Trino query, read at most every privacy_metrics_interval_seconds; a failed read is
    None (the collector's read_ok metric says 0), never a crash."""

    what = ""

    def __init__(self, settings: Settings, sql_file: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.sql_file = sql_file
        self.clock = clock
        self.read_at: float | None = None
        self.last: Any = None

    def interpret(self, rows: list[list[Any]]) -> Any:
        raise NotImplementedError

    def read(self) -> Any:
        from flink_jobs.common import split_statements
        from flowlake.clients.trino import query

        now = self.clock()
        if self.read_at is not None and now - self.read_at < self.settings.privacy_metrics_interval_seconds:
            return self.last
        self.read_at = now
        (sql,) = split_statements(self.sql_file.read_text())
        try:
            self.last = self.interpret(query(self.settings, sql.replace("${catalog}", self.settings.catalog_name))[1])
        except Exception as exc:  # Trino down, a password changed, the table missing: a metric, not a crash
            log.warning("%s not readable through Trino: %s", self.what, exc)
            self.last = None
        return self.last


class PrivacyDeadlineCollector(TrinoReadCollector):
    what = "privacy requests"

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings, DEADLINES_SQL, clock)

    def interpret(self, rows: list[list[Any]]) -> dict[str, Deadlines]:
        from udfs.privacy import INTENTS

        return deadlines(rows, INTENTS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self.read()
        ok = GaugeMetricFamily("flowlake_privacy_requests_read_ok",
                               "1 if the last read of gold.privacy_requests through Trino worked")
        ok.add_metric([], 0 if found is None else 1)
        yield ok
        if found is None:
            return
        families = [GaugeMetricFamily(name, doc, labels=["intent"]) for name, doc in (
            ("flowlake_privacy_requests_open", "privacy requests not carried out yet (status OPEN)"),
            ("flowlake_privacy_requests_overdue", "open privacy requests past their due date"),
            ("flowlake_privacy_requests_oldest_due_timestamp_seconds", "the earliest due date of the open requests"))]
        for intent, counts in found.items():
            families[0].add_metric([intent], counts.open)
            families[1].add_metric([intent], counts.overdue)
            if counts.oldest_due is not None:
                families[2].add_metric([intent], counts.oldest_due)
        yield from families


class QualityCollector(TrinoReadCollector):
    """The latest result of every table check (analytics.quality_status), as gauges."""

    what = "table check results"

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings, QUALITY_SQL, clock)

    def interpret(self, rows: list[list[Any]]) -> list[list[Any]]:
        return rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self.read()
        ok = GaugeMetricFamily("flowlake_quality_checks_read_ok",
                               "1 if the last read of analytics.quality_status through Trino worked")
        ok.add_metric([], 0 if found is None else 1)
        yield ok
        if found is None:
            return
        labels = ["check", "table", "subject"]
        passed = GaugeMetricFamily("flowlake_quality_check_passed", "1 if the latest run of the check passed",
                                   labels=labels)
        observed = GaugeMetricFamily("flowlake_quality_check_observed", "the value the latest run measured",
                                     labels=labels)
        last_run = GaugeMetricFamily("flowlake_quality_check_last_run_timestamp_seconds", "when the check last ran",
                                     labels=["check", "table"])
        runs: dict[tuple[str, str], float] = {}
        for check, table, subject, ok_, value, run_at in found:
            passed.add_metric([check, table, subject], 1 if ok_ else 0)
            if value is not None:
                observed.add_metric([check, table, subject], float(value))
            runs[(check, table)] = run_at.timestamp()
        for (check, table), at in sorted(runs.items()):
            last_run.add_metric([check, table], at)
        yield from (passed, observed, last_run)


@dataclass(frozen=True)
class FlinkJob:
    name: str
    state: str
    job_type: str  # STREAMING or BATCH
    group: str  # the consumer group it reads with (its global job parameter flowlake.consumer-group), or ""


def newest_per_name(overview: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest job of each name: the one a resubmission replaced the others with."""
    newest: dict[str, dict[str, Any]] = {}
    for job in overview:
        if job["name"] not in newest or job["start-time"] > newest[job["name"]]["start-time"]:
            newest[job["name"]] = job
    return sorted(newest.values(), key=lambda j: j["name"])


class FlinkJobsCollector(Collector):
    """Whether the newest job of each name is running, from the JobManager's REST API. Flink's own gauges
    vanish with a job that was cancelled or failed for good, so they cannot say that it stopped; the
    JobManager keeps ended jobs for jobstore.expiration-time (1 h by default)."""

    def __init__(self, settings: Settings) -> None:
        from flowlake.clients.flink import FlinkRest

        self.rest = FlinkRest(settings)
        self.details: dict[str, tuple[str, str]] = {}  # job id -> (type, group): fixed for a job's life

    def details_of(self, job_id: str, state: str) -> tuple[str, str]:
        if job_id in self.details:
            return self.details[job_id]
        job_type = self.rest.get(f"/jobs/{job_id}").get("job-type", "")
        user_config = self.rest.get(f"/jobs/{job_id}/config").get("execution-config", {}).get("user-config", {})
        found = (job_type, user_config.get("flowlake.consumer-group", ""))
        if state not in ("INITIALIZING", "CREATED"):  # before that, the job's configuration is not all there yet
            self.details[job_id] = found
        return found

    def jobs(self) -> list[FlinkJob]:
        found = []
        for job in newest_per_name(self.rest.get("/jobs/overview")["jobs"]):
            job_type, group = self.details_of(job["jid"], job["state"])
            found.append(FlinkJob(job["name"], job["state"], job_type, group))
        return found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("flowlake_flink_rest_up", "1 if the last scrape reached the JobManager's REST API")
        try:
            jobs = self.jobs()
        except Exception as exc:  # the JobManager down or restarting: a metric, not a crash
            log.warning("Flink REST API not reachable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        running = GaugeMetricFamily("flowlake_flink_job_running", "1 if the newest Flink job of this name is RUNNING",
                                    labels=["job_name", "job_type", "group", "state"])
        for job in jobs:
            running.add_metric([job.name, job.job_type, job.group, job.state], 1 if job.state == "RUNNING" else 0)
        up.add_metric([], 1)
        yield from (running, up)


class ReplicationSlotCollector(Collector):
    """The cdc job's replication slots in the captured database, read on every scrape as its replication user
    (flowlake/replication.py): an abandoned slot keeps WAL until the disk is full."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from flowlake.replication import slots

        ok = GaugeMetricFamily("flowlake_cdc_slots_read_ok", "1 if the last read of the replication slots worked")
        try:
            found = slots(self.settings)
        except Exception as exc:  # the database down, no password: a metric, not a crash
            log.warning("replication slots not readable: %s", exc)
            ok.add_metric([], 0)
            yield ok
            return
        retained = GaugeMetricFamily("flowlake_cdc_slot_retained_wal_bytes",
                                     "WAL the database keeps for the slot (from its restart_lsn on)", labels=["slot"])
        active = GaugeMetricFamily("flowlake_cdc_slot_active", "1 if a reader (the cdc job) is attached to the slot",
                                   labels=["slot"])
        for slot in found:
            retained.add_metric([slot.name], slot.retained_wal_bytes)
            active.add_metric([slot.name], 1 if slot.active else 0)
        ok.add_metric([], 1)
        yield from (retained, active, ok)


class Timed(Collector):
    """The collectors, each one's time measured: a scrape over Prometheus's timeout is lost whole, and the log
    and the metric say which part made it slow."""

    SLOW_SECONDS = 3.0

    def __init__(self, collectors: dict[str, Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        seconds = GaugeMetricFamily("flowlake_exporter_collect_seconds", "time each part of the last scrape took",
                                    labels=["collector"])
        for name, collector in self.collectors.items():
            started = time.monotonic()
            yield from collector.collect()
            took = time.monotonic() - started
            if took > self.SLOW_SECONDS:
                log.warning("collecting %s took %.1f s", name, took)
            seconds.add_metric([name], took)
        yield seconds


def serve(settings: Settings) -> None:
    """Serve the metrics on settings.exporter_port until stopped."""
    from prometheus_client import REGISTRY, start_http_server

    collectors: dict[str, Collector] = {"kafka": KafkaLagCollector(settings, settings.exporter_group_pattern),
                                        "flink": FlinkJobsCollector(settings),
                                        "replication_slots": ReplicationSlotCollector(settings)}
    if settings.privacy_metrics_interval_seconds > 0:
        collectors.update(privacy_deadlines=PrivacyDeadlineCollector(settings), quality=QualityCollector(settings))
    REGISTRY.register(Timed(collectors))
    start_http_server(settings.exporter_port, addr=settings.host)
    log.info("Kafka lag exporter on http://%s:%d/metrics (Kafka %s)", settings.host, settings.exporter_port,
             settings.kafka_bootstrap)
    while True:
        time.sleep(3600)

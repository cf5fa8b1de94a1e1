"""Every Flink job flowlake runs, described once. `flowlake submit`, `stop`, `status` and `--resume`, the
jobs' own argument defaults and the Kubernetes manifests' checks (tests/unit/test_deployments.py) read
it. Standard library only: the jobs import it in the job environment.

A new job is its entry point in flink_jobs/ and an entry here; a streaming one also gets a
FlinkDeployment in deploy/k8s/base/ named after its pipeline name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# States a Flink job does not leave; every other one (CREATED, RUNNING, RESTARTING, ...) is a live job.
TERMINAL_STATES = frozenset({"FINISHED", "CANCELED", "FAILED"})
# A job's Kafka password reaches its driver in this variable, never on its command line (visible in `ps`).
KAFKA_PASSWORD_ENV = "FLOWLAKE_KAFKA_PASSWORD"
# So does the cdc job's database password.
CDC_PASSWORD_ENV = "FLOWLAKE_CDC_PASSWORD"


@dataclass(frozen=True)
class Job:
    name: str  # `flowlake submit <name>`
    entry: str  # its file in flink_jobs/
    summary: str
    # A streaming job runs until it is stopped: its Flink job name (how stop, status and --resume find it)
    # and its Kafka consumer group (Pulsar subscription, prefix of its transactional ids). Batch jobs and
    # drivers have neither.
    pipeline_name: str = ""
    group_id: str = ""
    # Arguments `flowlake submit` fills from the settings when they are not given: (flag, Settings field).
    settings_arguments: tuple[tuple[str, str], ...] = ()
    # Its Kafka principal, and the flags that name the topics it reads and writes: `flowlake submit` grants the
    # principal exactly those (and the consumer group and transactional ids of its group id). None: no Kafka.
    kafka_principal: str = ""
    kafka_reads: tuple[str, ...] = ()
    kafka_writes: tuple[str, ...] = ()

    @property
    def streaming(self) -> bool:
        return bool(self.pipeline_name)

    @property
    def path(self) -> Path:
        return Path(__file__).resolve().parent / self.entry


INGEST = Job("ingest", "ingest.py", "the medallion job: events -> bronze, quarantine, silver, gold, the silver and "
             "consent topics",
             pipeline_name="flowlake-ingest", group_id="flowlake-ingest",
             settings_arguments=(("--topic", "events_topic"), ("--silver-topic", "silver_events_topic"),
                                 ("--consent-topic", "consent_topic")),
             kafka_principal="ingest", kafka_reads=("--topic",), kafka_writes=("--silver-topic", "--consent-topic"))
SESSIONS = Job("sessions", "sessions.py", "sessions and alerts from the silver topic",
               pipeline_name="flowlake-sessions", group_id="flowlake-sessions",
               settings_arguments=(("--silver-topic", "silver_events_topic"), ("--alerts-topic", "alerts_topic")),
               kafka_principal="sessions", kafka_reads=("--silver-topic",), kafka_writes=("--alerts-topic",))
CDC = Job("cdc", "cdc.py", "change data capture: the operational database's tables -> bronze.cdc_changes and "
          "silver upsert tables",
          pipeline_name="flowlake-cdc", group_id="flowlake-cdc",
          settings_arguments=(("--database", "cdc_database"), ("--tables", "cdc_tables"), ("--user", "cdc_user"),
                              ("--slot", "cdc_slot"), ("--publication", "cdc_publication")))
SQL = Job("sql", "sql_script.py", "a Flink SQL script against the lakehouse catalog")
MAINTAIN = Job("maintain", "maintain.py", "table maintenance: compaction, snapshot expiry, orphan files, manifests")

REPLAY = Job("replay", "replay.py", "quarantined records of one rule through the rules again, the now-valid ones "
             "into silver (flowlake quarantine replay)")

RESTATE = Job("restate", "restate.py", "daily gold restated from silver, late events included (flowlake gold restate)")

JOBS = {job.name: job for job in (INGEST, SESSIONS, SQL, MAINTAIN, REPLAY, RESTATE, CDC)}

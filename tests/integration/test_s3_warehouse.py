"""The lakehouse on S3-compatible storage: the medallion job writes its Iceberg tables and its
checkpoints to the local S3 server (MinIO) of the session's stack, and Trino reads them.

The stack's own catalog stays on local files; this module uses a second catalog name in the same JDBC
catalog database, with its warehouse and checkpoints on s3://, the same Flink cluster (its S3 plugin is
configured because the stack runs the S3 server), and a second Trino whose catalog file is rendered by
the same code from the S3 settings."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pyarrow import fs
from pydantic import SecretStr

from flowlake import keys, stack
from flowlake.catalog import ensure_catalog, load_catalog
from flowlake.clients import storage
from flowlake.clients.flink import FlinkRest, submit
from flowlake.clients.kafka import delete_topic, ensure_topic
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.generate import Mix, SteppingClock, generate
from flowlake.kafka_security import grant, producer_grants
from flowlake.stack.runtime import Runtime
from flowlake.stack.services import Trino
from iceberg.registry import SILVER_TABLE_OF

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EVENTS = 3_000
BUCKET = "flowlake-it"


@pytest.fixture(scope="module")
def s3_lake(local_stack: Settings) -> Iterator[Settings]:
    """Settings for a lakehouse on the stack's S3 server, with a Trino of its own serving it."""
    base = local_stack
    settings = base.model_copy(update={
        "catalog_name": "lakehouse_s3", "warehouse": f"s3://{BUCKET}/warehouse",
        "checkpoints": f"s3://{BUCKET}/checkpoints", "savepoints": f"s3://{BUCKET}/savepoints",
        "trino_port": base.trino_port + 100, "trino_https_port": base.trino_https_port + 100, "trino_heap": "1G",
        "s3_secret_key": SecretStr(keys.s3_secret_key(base))})
    assert storage.ensure_buckets(settings) == [BUCKET]
    ensure_catalog(settings)
    trino = Trino("trino-s3", settings, Runtime(settings))
    stack.start_service(trino, timeout=300)
    try:
        yield settings
    finally:
        stack.stop_service(trino)


def q(settings: Settings, sql: str) -> list[list[object]]:
    return query(settings, sql)[1]


def test_the_medallion_job_writes_iceberg_and_checkpoints_to_s3_and_trino_reads_them(s3_lake: Settings) -> None:
    settings = s3_lake
    topic = f"it-s3-{uuid.uuid4().hex[:8]}"
    for name in (topic, f"{topic}.silver"):
        ensure_topic(settings, name, settings.events_partitions)
    grant(settings, "producer", producer_grants([topic]))  # before the job's submission grants it
    clock = SteppingClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12))
    records: list[tuple[str, bytes, str]] = []
    generate(settings, EVENTS, None, None, topic=topic, seed=7, mix=Mix(bad=0.05, duplicates=0.05),
             clock=clock, keep=records)
    labels = Counter(label.split(":")[0] for _, _, label in records)
    assert labels["bad"] > 0 and labels["duplicate"] > 0
    job_id = submit(settings, "ingest", ["--topic", topic, "--silver-topic", f"{topic}.silver",
                                         "--group-id", f"g-{topic}", "--job-name", f"ingest-{topic}"])
    rest = FlinkRest(settings)
    try:
        rest.wait_for_state(job_id, {"RUNNING"}, timeout=180)

        def bronze() -> int:
            sql = f"SELECT count(*) FROM lakehouse_s3.bronze.events WHERE source_topic = '{topic}'"
            return int(q(settings, sql)[0][0])

        wait_until(lambda: bronze() >= EVENTS, timeout=420, interval=5, what=f"{EVENTS} rows in bronze on S3")
        rows = q(settings, "SELECT count(*), count(DISTINCT (source_partition, source_offset)) "
                           f"FROM lakehouse_s3.bronze.events WHERE source_topic = '{topic}'")
        assert rows[0] == [EVENTS, EVENTS]
        quarantined = q(settings, f"SELECT count(*) FROM lakehouse_s3.quarantine.events WHERE source_topic = '{topic}'")
        assert quarantined[0][0] == labels["bad"]
        silver = wait_until(lambda: (n := sum(int(q(settings, f"SELECT count(*) FROM lakehouse_s3.silver.{t}")[0][0])
                                              for t in SILVER_TABLE_OF.values())) >= labels["valid"] and n,
                            timeout=300, interval=5, what="every valid event in silver on S3")
        assert silver == labels["valid"]  # duplicates dropped

        # Where the bytes are: every data file and every table's metadata on S3, none on local disk.
        paths = [row[0] for row in q(settings, 'SELECT file_path FROM lakehouse_s3.bronze."events$files"')]
        assert paths and all(str(p).startswith(f"s3://{BUCKET}/warehouse/bronze/events/") for p in paths)
        catalog = load_catalog(settings)
        for identifier in ("bronze.events", "quarantine.events", "silver.orders"):
            assert catalog.load_table(identifier).metadata_location.startswith(f"s3://{BUCKET}/warehouse/")
        s3 = storage.filesystem(settings)
        on_s3 = s3.get_file_info(fs.FileSelector(f"{BUCKET}/warehouse/bronze/events/data", recursive=True))
        assert {f"s3://{info.path}" for info in on_s3 if info.type == fs.FileType.File} >= set(paths)

        # Checkpoints: completed ones, stored under the job's folder on S3.
        wait_until(lambda: rest.completed_checkpoints(job_id) >= 1, timeout=120, what="a completed checkpoint")
        location = rest.checkpoints(job_id)["latest"]["completed"]["external_path"]
        assert location.startswith(f"s3://{BUCKET}/checkpoints/{job_id}/chk-")
        stored = s3.get_file_info(fs.FileSelector(location.removeprefix("s3://"), recursive=True))
        assert any(info.path.endswith("/_metadata") for info in stored)
    finally:
        if rest.job(job_id)["state"] == "RUNNING":
            rest.cancel(job_id)
        for name in (topic, f"{topic}.silver"):
            delete_topic(settings, name)

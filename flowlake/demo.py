"""`flowlake demo`: events -> Kafka -> Flink ingest job -> Iceberg bronze -> Trino, end to end."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.flink import FlinkRest, submit
from flowlake.generate import generate
from flowlake.trino_client import query

console = Console()
INGEST_JOB_NAME = "flowlake-ingest"
BRONZE = "lakehouse.bronze.events"


def bronze_count(settings: Settings) -> int:
    return int(query(settings, f"SELECT count(*) FROM {BRONZE}")[1][0][0])


def wait_for_rows(settings: Settings, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = bronze_count(settings)
    with console.status("") as status:
        while count < expected and time.monotonic() < deadline:
            status.update(f"waiting for Flink to commit to Iceberg: {count}/{expected} rows visible in Trino")
            time.sleep(2)
            count = bronze_count(settings)
    return count


def run_demo(settings: Settings, count: int, timeout: float) -> None:
    before = bronze_count(settings)
    job_id = FlinkRest(settings).running_job(INGEST_JOB_NAME)
    if job_id is None:
        console.print("[bold]==>[/bold] submitting the ingest job to Flink")
        job_id = submit(settings, "ingest")
    console.print(f"  ingest job {job_id}: {settings.flink_rest_url}/#/job/running/{job_id}/overview")
    console.print(f"[bold]==>[/bold] generating {count} events onto topic {settings.events_topic}")
    generate(settings, count, None, None)
    got = wait_for_rows(settings, before + count, timeout)
    if got < before + count:
        raise FlowlakeError(f"only {got - before} of {count} events reached {BRONZE} within {timeout}s: "
                            f"see the job at {settings.flink_rest_url} and logs in {settings.log_dir}")
    sql = (f"SELECT json_extract_scalar(payload, '$.event_type') AS event_type, count(*) AS events, "
           f"count(DISTINCT (kafka_partition, kafka_offset)) AS distinct_offsets "
           f"FROM {BRONZE} GROUP BY 1 ORDER BY 2 DESC")
    columns, rows = query(settings, sql)
    console.print(f"[bold]==>[/bold] flowlake query \"{sql}\"")
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)
    console.print(f"[green]{got} rows in {BRONZE}[/green] ({count} new)")

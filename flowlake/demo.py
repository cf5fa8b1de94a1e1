"""`flowlake demo`: events -> Kafka (or Pulsar) -> the medallion job -> Iceberg bronze, quarantine, silver and
gold -> Trino, end to end."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from flowlake import flink_security
from flowlake.clients.flink import FlinkRest, job_name, submit
from flowlake.clients.trino import query
from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.generate import Mix, SteppingClock, generate

console = Console()
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


# What `make demo` shows, layer by layer: the same queries a SQL user runs.
DEMO_QUERIES = (
    ("bronze: every record as received",
     "SELECT coalesce(json_extract_scalar(from_utf8(payload), '$.event_type'), '(unparseable)') AS event_type, "
     "count(*) AS records FROM lakehouse.bronze.events GROUP BY 1 ORDER BY 2 DESC"),
    ("quarantine: invalid records and the first rule each failed",
     "SELECT split_part(failures[1], ':', 1) AS rule, count(*) AS records "
     "FROM lakehouse.quarantine.events GROUP BY 1 ORDER BY 2 DESC"),
    ("silver: valid, deduplicated, PII masked",
     "SELECT order_id, total, currency, email, shipping_name FROM lakehouse.silver.orders "
     "ORDER BY event_time DESC LIMIT 3"),
    ("silver: free text with PII redacted",
     "SELECT message FROM lakehouse.silver.support_messages ORDER BY event_time DESC LIMIT 3"),
    ("gold: revenue per minute (windows the watermark has closed)",
     "SELECT window_start, country, category, orders, units, revenue FROM lakehouse.gold.revenue_per_minute "
     "ORDER BY window_start DESC, revenue DESC LIMIT 5"),
    ("gold: events that arrived after their window closed",
     "SELECT count(*) AS late_events FROM lakehouse.gold.late_events"),
)


@dataclass(frozen=True)
class Place:
    service: str  # the stack's name for it (`flowlake status`)
    address: str  # a URL, or host:port for what is not HTTP
    what: str


def places(settings: Settings) -> list[Place]:
    """Where each service of the stack is, and what to look at there (the demo's last screen), in start order."""
    from flowlake.trino_security import certificate_file

    s = settings
    ui_access = ""
    if flink_security.enabled(s):
        p12, password = flink_security.browser_certificate(s)
        ui_access = (f"; a client certificate is required: import {p12} into the browser (its password in "
                     f"{password}) and trust {flink_security.ca_file(s)}")
    where = {
        "postgres": (f"{s.postgres_host or s.host}:{s.postgres_port}", "the Iceberg catalog (JDBC)"),
        "s3": (s.s3_endpoint_url, "the warehouse's object store (MinIO)"),
        "kafka": (s.kafka_bootstrap, f"topics {s.events_topic} (raw) and {s.silver_events_topic} (masked)"),
        "pulsar": (s.pulsar_service_url, f"topic {s.events_topic}"),
        "flink-jobmanager": (s.flink_rest_url,
                             "Flink's UI: the jobs, their graphs, checkpoints, backpressure" + ui_access),
        "flink-taskmanager": (f"{s.flink_rest_url}/#/task-manager", "its slots, memory and logs"),
        "trino": (s.trino_url, f"SQL over every layer; users engineer (everything) and analyst (silver, gold, views; "
                  f"no raw PII), passwords from `flowlake trino-users --show-passwords`; certificate "
                  f"{certificate_file(s)}"),
        "alert-receiver": (s.alert_receiver_url.removesuffix("/alerts") + "/-/ready",
                           "records every alert delivered: `flowlake alerts`"),
        "alertmanager": (s.alertmanager_url, "alerts as delivered, grouped and held back; silences"),
        "prometheus": (f"{s.prometheus_url}/alerts", "the alert rules and their state; /graph for any metric"),
        "exporter": (f"http://{s.host}:{s.exporter_port}/metrics", "consumer lag, jobs' states, privacy deadlines"),
        "maintenance": (f"http://{s.host}:{s.maintenance_metrics_port}/metrics", "the maintenance scheduler's runs"),
    }
    from flowlake import stack

    return [Place(state.name, *where[state.name]) for state in stack.status(settings)
            if state.healthy and state.name in where]


def next_queries(settings: Settings) -> list[tuple[str, str]]:
    """Three things to try, as commands that run as printed: a time-travel query on a real snapshot, what an
    analyst sees, and why records were quarantined."""
    rows = query(settings, 'SELECT snapshot_id FROM lakehouse.silver."orders$snapshots" '
                           'ORDER BY committed_at LIMIT 1')[1]
    version = f" FOR VERSION AS OF {rows[0][0]}" if rows else ""
    return [
        ("silver.orders as of its first snapshot (time travel)",
         f'flowlake query "SELECT count(*) FROM lakehouse.silver.orders{version}"'),
        ("what an analyst sees: masked emails and names, and no raw layer",
         'flowlake query --user analyst "SELECT order_id, email, shipping_name, total FROM lakehouse.silver.orders '
         'LIMIT 5"'),
        ("why records were quarantined, per rule and day (no payloads)",
         'flowlake query "SELECT day, rule, failures FROM lakehouse.analytics.quality_by_rule ORDER BY failures DESC"'),
    ]


def print_way_on(settings: Settings) -> None:
    # A list, not a table: in an 80-column terminal a table cut the longer addresses short ("…").
    console.print("[bold]The local stack[/bold]")
    for place in places(settings):
        console.print(f"  [bold]{place.service}[/bold]  {place.address}", soft_wrap=True, highlight=False)
        console.print(f"      {place.what}", highlight=False)
    console.print("\n[bold]Try next[/bold]")
    for title, command in next_queries(settings):
        console.print(f"  {title}:\n    {command}", soft_wrap=True, highlight=False)
    console.print("\n  [bold]flowlake status[/bold] (services, jobs, lag, alerts), [bold]flowlake alerts[/bold], "
                  "[bold]flowlake logs[/bold] [SERVICE]; the README's Commands; [bold]make down[/bold] stops it all.")


def run_demo(settings: Settings, count: int, timeout: float) -> None:
    from flowlake.views import create_views

    before = bronze_count(settings)
    job_id = FlinkRest(settings).running_job(job_name("ingest", []))
    if job_id is None:
        console.print("[bold]==>[/bold] submitting the medallion job to Flink")
        job_id = submit(settings, "ingest")
    create_views(settings)  # the analytics views the README's analyst examples read
    console.print(f"  ingest job {job_id}: {settings.flink_rest_url}/#/job/running/{job_id}/overview")
    # The last ten minutes of a shop's traffic, replayed: event times spread over them, so that gold
    # windows close; 5% of the records invalid and 2% duplicated, as real feeds are.
    span = timedelta(minutes=10)
    clock = SteppingClock(datetime.now(UTC) - span, span / max(count, 1))
    console.print(f"[bold]==>[/bold] generating {count} events onto {settings.events_source} topic "
                  f"{settings.events_topic}")
    generate(settings, count, None, None, mix=Mix(bad=0.05, duplicates=0.02), clock=clock,
             broker=settings.events_source)
    got = wait_for_rows(settings, before + count, timeout)
    if got < before + count:
        raise FlowlakeError(f"only {got - before} of {count} events reached {BRONZE} within {timeout}s: "
                            f"see the job at {settings.flink_rest_url} and logs in {settings.log_dir}")
    time.sleep(settings.checkpoint_interval_seconds)  # one more commit: silver and gold follow bronze
    for title, sql in DEMO_QUERIES:
        columns, rows = query(settings, sql)
        console.print(f"\n[bold]==>[/bold] {title}\n  flowlake query \"{sql}\"")
        table = Table(*columns)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        console.print(table)
    console.print(f"\n[green]{got} rows in {BRONZE}[/green] ({count} new)\n")
    print_way_on(settings)

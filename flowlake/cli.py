"""The `flowlake` command."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from flink_jobs.registry import JOBS
from flowlake.config import Settings, load_settings
from flowlake.errors import FlowlakeError
from udfs.masking import Policy

out = Console()
err = Console(stderr=True)
WIDE_HELP = "every column, however wide the terminal (else the least needed ones go when they do not fit)"


def fitted_table(columns: list[str], rows: list[list[str]], narrow: list[str], width: int, wide: bool = False) -> Table:
    """A table of every column when it fits in `width` (or `wide`), else of the `narrow` ones only: cells are
    never cut, so every id in it can still be pasted."""
    def cell_width(cell: str) -> int:
        return max((Text.from_markup(line).cell_len for line in cell.splitlines()), default=0)

    natural = sum(max([len(c), *(cell_width(r[i]) for r in rows)]) + 3 for i, c in enumerate(columns)) + 1
    keep = list(range(len(columns))) if wide or natural <= width else [columns.index(c) for c in narrow]
    table = Table(*(columns[i] for i in keep))
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


@click.group()
@click.option("--verbose", is_flag=True, help="also print the client libraries' own log lines (Kafka's, HTTP's)")
def main(verbose: bool) -> None:
    """flowlake: a Flink-centric streaming lakehouse (Kafka -> PyFlink -> Iceberg -> Trino)."""
    if verbose:
        import logging

        from flowlake import logs

        logs.console(logging.INFO, everything=True)


@main.command()
@click.option("--with", "extras", multiple=True, type=click.Choice(["pulsar", "s3", "k8s", "cdc"]),
              help="an optional part as well (else installed on first use): the Pulsar broker and connector, "
                   "S3 (Flink's plugin, MinIO), the Kubernetes schemas the deployment tests validate against, "
                   "the Flink CDC connector")
@click.option("--all", "everything", is_flag=True, help="every optional part too (what `make test` runs)")
def install(extras: tuple[str, ...], everything: bool) -> None:
    """Install what the local stack needs (Debian packages, jars, the job environment, Trino)."""
    from flowlake.stack.install import install as run_install

    run_install(load_settings(), extras, everything)


@main.command()
@click.option("--with", "extras", multiple=True, type=click.Choice(["pulsar", "maintenance", "s3"]),
              help="optional services to start as well (or FLOWLAKE_PULSAR_ENABLED=true, "
                   "FLOWLAKE_MAINTENANCE_ENABLED=true, FLOWLAKE_S3_ENABLED=true: a local S3 server; set "
                   "FLOWLAKE_WAREHOUSE=s3://bucket/path to keep the tables there)")
def up(extras: tuple[str, ...]) -> None:
    """Start the local stack (idempotent)."""
    from flowlake import stack

    settings = load_settings()
    if "pulsar" in extras:
        settings = settings.model_copy(update={"pulsar_enabled": True})
    if "maintenance" in extras:
        settings = settings.model_copy(update={"maintenance_enabled": True})
    if "s3" in extras:
        settings = settings.model_copy(update={"s3_enabled": True})
    stack.up(settings)


@main.command()
@click.option("--trino-etc", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="also write a Trino configuration directory here (for a Trino container mounting it there)")
@click.option("--owner", default=None, help="UID:GID to own the Trino files (the Trino container's user)")
@click.option("--alertmanager-etc", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="also write Alertmanager's alertmanager.yml (from the alert settings) into this directory")
@click.option("--alertmanager-owner", default=None, help="UID:GID to own it (the Alertmanager container's user)")
def init(trino_etc: Path | None, owner: str | None, alertmanager_etc: Path | None,
         alertmanager_owner: str | None) -> None:
    """Prepare services flowlake did not start: buckets, the Iceberg catalog and tables, Kafka topics."""
    from flowlake.init import init as run_init

    def uid_gid(text: str | None) -> tuple[int, int] | None:
        if not text:
            return None
        uid, _, gid = text.partition(":")
        return int(uid), int(gid or uid)

    run_init(load_settings(), trino_etc, uid_gid(owner), alertmanager_etc, uid_gid(alertmanager_owner))


@main.command()
def down() -> None:
    """Stop the local stack; cleans stale pid files."""
    from flowlake import stack

    stack.down(load_settings())


@main.command()
@click.option("--wide", is_flag=True, help=WIDE_HELP)
def status(wide: bool) -> None:
    """Show which services run and whether they are healthy."""
    from flowlake import stack

    settings = load_settings()
    states = stack.status(settings)
    rows = [[s.name, str(s.pid or "-"), str(s.port), "[green]yes[/green]" if s.healthy else "[red]no[/red]", s.auth]
            for s in states]
    out.print(fitted_table(["service", "pid", "port", "healthy", "clients authenticate by"], rows,
                           ["service", "port", "healthy", "clients authenticate by"], out.width, wide))
    healthy = {s.name for s in states if s.healthy}
    if "flink-jobmanager" in healthy:
        _print_jobs(settings, healthy, wide)
    if "kafka" in healthy:
        _print_lag(settings)
        _warn_kafka_retention(settings)
    if "postgres" in healthy:
        _print_slots(settings)
    if "alertmanager" in healthy:
        _print_alerts(settings)
    if not all(s.healthy for s in states):
        sys.exit(1)


def _print_jobs(settings: Settings, healthy: set[str], wide: bool) -> None:
    from flowlake.health import live_jobs_health, quarantine_rates

    rates = quarantine_rates(settings) if "prometheus" in healthy else {}
    rows = []
    for job in live_jobs_health(settings):
        rate = rates.get(re.sub(r"[^A-Za-z0-9_]", "_", job.name))
        rows.append([job.name, job.state if job.state == "RUNNING" else f"[red]{job.state}[/red]",
                     f"{job.uptime_seconds:.0f} s",
                     "never" if job.checkpoint_age_seconds is None else f"{job.checkpoint_age_seconds:.0f} s ago",
                     "-" if job.checkpoint_duration_ms is None else f"{job.checkpoint_duration_ms} ms",
                     str(job.failed_checkpoints), str(job.restarts), "-" if rate is None else f"{rate:.1%}"])
    table = fitted_table(["job", "state", "up", "checkpoint", "took", "failed", "restores", "quarantine"], rows,
                         ["job", "state", "checkpoint", "quarantine"], out.width, wide)
    out.print(table if table.row_count else "[dim]no Flink job running[/dim]")


def _warn_kafka_retention(settings: Settings) -> None:
    from flowlake.health import retention_warning, topic_retention_ms
    from udfs.privacy import RESPONSE_DAYS

    warning = retention_warning(settings.events_topic, topic_retention_ms(settings, settings.events_topic),
                                RESPONSE_DAYS)
    if warning:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)


def _print_lag(settings: Settings) -> None:
    from flowlake.health import lag_per_topic

    table = Table("consumer group", "topic", "lag (records)")
    for (group, topic), lag in sorted(lag_per_topic(settings).items()):
        table.add_row(group, topic, str(lag))
    out.print(table if table.row_count else "[dim]no consumer group has committed offsets yet[/dim]")


def _print_slots(settings: Settings) -> None:
    from flowlake.replication import slots

    try:
        found = slots(settings)
    except Exception as error:  # no captured database here, or no right to read it: a line, not a failure
        err.print(f"[dim]replication slots not readable: {escape(str(error))}[/dim]")
        return
    table = Table("replication slot", "reader", "WAL held back", "confirmed up to")
    for slot in found:
        table.add_row(slot.name, "attached" if slot.active else "[yellow]none[/yellow]",
                      f"{slot.retained_wal_bytes / 2**20:.1f} MiB", slot.confirmed_flush_lsn or "-")
    if table.row_count:
        out.print(table)


def _print_alerts(settings: Settings) -> None:
    from flowlake import alerts

    held = alerts.active(settings)
    firing = [a for a in held if a["status"]["state"] == "active"]
    quiet = len(held) - len(firing)
    names = ", ".join(sorted({a["labels"]["alertname"] for a in firing}))
    line = f"alerts: {len(firing)} firing{f' ({names})' if names else ''}"
    line += f", {quiet} inhibited or silenced" if quiet else ""
    delivered = alerts.received(settings)
    if delivered:
        last = delivered[-1]
        line += (f"; last delivered {alerts.age(last['received_at'])} ago: {last['alertname']} {last['status']}"
                 " (`flowlake alerts`)")
    out.print(f"[red]{escape(line)}[/red]" if firing else escape(line))


@main.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="every notification received, not only each alert's newest")
@click.pass_context
def alerts(ctx: click.Context, show_all: bool) -> None:
    """What Alertmanager delivered to the local receiver: each alert's newest notification (firing or resolved)."""
    if ctx.invoked_subcommand is not None:
        return
    from flowlake import alerts as delivered

    settings = load_settings()
    found = delivered.received(settings)
    rows = list(reversed(found)) if show_all else delivered.latest_per_alert(found)
    table = Table("received", "alert", "status", "severity", "labels", "summary")
    for n in rows:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(n["labels"].items()) if k not in ("alertname", "severity"))
        table.add_row(f"{delivered.age(n['received_at'])} ago", n["alertname"],
                      n["status"] if n["status"] == "resolved" else f"[red]{n['status']}[/red]", n["severity"],
                      escape(labels), escape(n["summary"]))
    out.print(table if table.row_count else
              f"[dim]no alert delivered yet (recorded in {delivered.notifications_file(settings)})[/dim]")


@alerts.command("serve")
def alerts_serve() -> None:
    """Receive Alertmanager's notifications (webhook) and record them; a service of the local stack."""
    from flowlake import alerts as receiver
    from flowlake import logs

    logs.setup("alert-receiver")
    receiver.serve(load_settings())


@main.command()
@click.option("--count", "-n", type=int, help="number of events")
@click.option("--rate", type=float, help="events per second (with --duration)")
@click.option("--duration", type=float, help="seconds (with --rate)")
@click.option("--topic", default=None, help="topic (default: the events topic)")
@click.option("--seed", type=int, default=None, help="random seed, for repeatable data")
@click.option("--bad", type=float, default=0.0, help="fraction of invalid records (malformed, missing fields ...)")
@click.option("--duplicates", type=float, default=0.0, help="fraction repeating an earlier event id")
@click.option("--late", type=float, default=0.0, help="fraction with an event time 10 minutes in the past")
@click.option("--to", "broker", type=click.Choice(["kafka", "pulsar"]), default=None,
              help="the broker to produce to (the topic of the same name); default: FLOWLAKE_EVENTS_SOURCE")
@click.option("--cdc", is_flag=True, help="change the shop database instead (the cdc job's source): --count "
              "inserts, updates and deletes, at --rate per second")
def generate(count: int | None, rate: float | None, duration: float | None, topic: str | None,
             seed: int | None, bad: float, duplicates: float, late: float, broker: str | None, cdc: bool) -> None:
    """Produce JSON e-commerce events to Kafka or Pulsar (or, with --cdc, change the shop database)."""
    from flowlake.generate import Mix
    from flowlake.generate import generate as run_generate

    settings = load_settings()
    if cdc:
        from flowlake.shop import generate_changes

        if count is None:
            raise click.UsageError("--cdc needs --count")
        made = generate_changes(settings, count, rate, seed)
        err.print(f"[green]{sum(made.values())} changes committed[/green] to the {settings.cdc_database} database "
                  f"({', '.join(f'{kind}: {n}' for kind, n in made.items())}); its tables are the reference "
                  "silver must equal")
        return
    delivered = run_generate(settings, count, rate, duration, topic, seed, Mix(bad, duplicates, late),
                             broker=broker or settings.events_source)
    details = ", ".join(f"{label}: {n}" for label, n in sorted(delivered.items()))
    err.print(f"[green]{delivered.total()} records delivered[/green] ({details})")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.option("--from-savepoint", "savepoint", default=None, help="restore the job's state from this savepoint")
@click.option("--allow-non-restored-state", is_flag=True,
              help="with --from-savepoint: drop the state of operators the changed job no longer has")
@click.option("--resume", is_flag=True,
              help="restart a job that is gone (its JobManager crashed) from its newest retained checkpoint")
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED)
def submit(job: str, savepoint: str | None, allow_non_restored_state: bool, resume: bool,
           job_args: tuple[str, ...]) -> None:
    """Submit JOB (flink_jobs/registry.py) to the Flink session cluster; prints the Flink job id.
    Arguments after JOB go to the job (`flowlake submit ingest -- --help`)."""
    from flowlake.clients.flink import resume_point
    from flowlake.clients.flink import submit as run_submit

    if allow_non_restored_state and not (savepoint or resume):
        raise click.UsageError("--allow-non-restored-state goes with --from-savepoint or --resume")
    if resume and savepoint:
        raise click.UsageError("--resume finds the checkpoint itself: leave out --from-savepoint")
    settings = load_settings()
    if resume:
        savepoint = resume_point(settings, job, list(job_args))
        err.print(f"resuming from {savepoint}")
    out.print(run_submit(settings, job, list(job_args), from_savepoint=savepoint,
                         allow_non_restored_state=allow_non_restored_state))


@main.command()
@click.argument("job")
@click.option("--savepoint/--no-savepoint", default=True, show_default=True,
              help="take a final savepoint to restart from, or just cancel")
@click.option("--savepoint-dir", default=None, help="where to write it (default: the cluster's savepoint dir)")
@click.option("--drop-slot", is_flag=True,
              help="cdc: then drop its replication slot (the database stops keeping WAL for it; a restart takes a "
                   "new snapshot, and a savepoint of it is no use)")
def stop(job: str, savepoint: bool, savepoint_dir: str | None, drop_slot: bool) -> None:
    """Stop JOB (a job name such as ingest, or a Flink job id); prints the savepoint path."""
    from flowlake.clients.flink import FlinkRest, job_name
    from flowlake.errors import JobFailed

    if drop_slot and job != "cdc":
        raise click.UsageError("--drop-slot goes with the cdc job")
    settings = load_settings()
    rest = FlinkRest(settings)
    job_id = job if re.fullmatch(r"[0-9a-f]{32}", job) else rest.running_job(job_name(job, []))
    if job_id is None and not drop_slot:
        raise JobFailed(f"no running job named {job!r}: `flowlake status` lists the stack, the Flink UI the jobs")
    if job_id is None:
        err.print("no cdc job running")
    elif not savepoint or drop_slot:  # a savepoint would point into WAL the slot no longer keeps
        rest.cancel(job_id)
        rest.wait_for_state(job_id, {"CANCELED"}, timeout=60)
        err.print(f"cancelled {job_id}")
    else:
        err.print(f"stopping {job_id} with a savepoint ...")
        location = rest.stop_with_savepoint(job_id, savepoint_dir)
        click.echo(location)  # whole, for scripts: rich would fold a long path at the console width
        err.print(f"[green]stopped[/green]; restart with `flowlake submit {job} --from-savepoint {location}`")
    if drop_slot:
        from flowlake.replication import drop_slot as drop

        slot = settings.cdc_slot
        err.print(f"dropped the replication slot {slot}" if drop(settings, slot) else f"no replication slot {slot}")


@main.command()
@click.argument("sql")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="json: one object per row")
@click.option("--user", default=None, help="the Trino user to run as (default: FLOWLAKE_TRINO_USER, an engineer); "
                                            "`flowlake trino-users` lists them")
def query(sql: str, output_format: str, user: str | None) -> None:
    """Run SQL on Trino and print the result (a table, CSV or JSON lines)."""
    from flowlake.clients.trino import as_csv, as_json_lines
    from flowlake.clients.trino import query as run_query

    columns, rows = run_query(load_settings(), sql, user=user)
    if output_format == "csv":
        click.echo(as_csv(columns, rows), nl=False)
    elif output_format == "json":
        click.echo(as_json_lines(columns, rows), nl=False)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        out.print(table)


@main.command("trino-users")
@click.option("--show-passwords", is_flag=True, help="print the passwords too")
def trino_users(show_passwords: bool) -> None:
    """How to connect to the local Trino: its URL, the certificate to trust, and the users with their role."""
    from flowlake.keys import password_for, passwords_file
    from flowlake.trino_security import certificate_file

    settings = load_settings()
    out.print(f"URL: {settings.trino_url} (TLS; trust {certificate_file(settings)})")
    host = settings.trino_host or settings.host
    out.print(f"JDBC: jdbc:trino://{host}:{settings.trino_https_port}/{settings.catalog_name}"
              f"?SSL=true&SSLTrustStorePath={certificate_file(settings)}")
    table = Table("user", "role", "password")
    for user, role in settings.trino_users.items():
        source = "FLOWLAKE_TRINO_PASSWORDS" if user in settings.trino_passwords else str(passwords_file(settings))
        table.add_row(user, role, password_for(settings, user) if show_passwords else f"in {source}")
    out.print(table)
    out.print("analyst: reads silver, gold and analytics, writes nothing; "
              "engineer: reads and writes everything, runs maintenance procedures")


@main.command("kafka-users")
@click.option("--show-passwords", is_flag=True, help="print the passwords too")
@click.option("--as", "role", default=None, help="print a Kafka client's settings for this principal")
def kafka_users(show_passwords: bool, role: str | None) -> None:
    """How to connect to the local Kafka: the certificate to trust, the principals and what each may do; with
    --as ROLE, the client settings (Java's client.properties lines; librdkafka's are alike) for that principal."""
    from flowlake import kafka_security as kafka

    settings = load_settings()
    if not kafka.enabled(settings):
        out.print(f"Kafka at {settings.kafka_bootstrap}: PLAINTEXT, no authentication (FLOWLAKE_KAFKA_SECURITY=none)")
        return
    if role is not None:
        if role not in kafka.ROLES:
            raise click.BadParameter(f"one of {', '.join(kafka.ROLES)}", param_hint="--as")
        secret = kafka.password(settings, role) if show_passwords else "<flowlake kafka-users --show-passwords>"
        click.echo(f"bootstrap.servers={settings.kafka_bootstrap}\nsecurity.protocol=SASL_SSL\n"
                   f"sasl.mechanism={kafka.MECHANISM}\nsasl.jaas.config=org.apache.kafka.common.security.scram."
                   f'ScramLoginModule required username="{role}" password="{secret}";\n'
                   f"ssl.truststore.type=PEM\nssl.truststore.location={kafka.ca_file(settings)}")
        return
    out.print(f"Kafka at {settings.kafka_bootstrap}: TLS (trust {kafka.ca_file(settings)}) and SASL/{kafka.MECHANISM}")
    grants = kafka.role_grants(settings)
    rows = []
    for name in kafka.ROLES:
        may = "; ".join(f"{g.operation.lower()} {g.resource.replace('_', ' ')} {g.name}"
                        f"{'*' if g.pattern == 'prefixed' else ''}" for g in grants.get(name, []))
        rows.append([name, may or "everything (super user)",
                     kafka.password(settings, name) if show_passwords else "--show-passwords"])
    out.print(fitted_table(["principal", "may", "password"], rows, ["principal", "may"], out.width))


@main.command()
@click.option("--events", "count", default=10_000, show_default=True, help="events to generate")
@click.option("--timeout", default=300, show_default=True, help="seconds to wait for the rows in Trino")
def demo(count: int, timeout: int) -> None:
    """Generate events, run the ingest job, and show the result through Trino."""
    from flowlake.demo import run_demo

    run_demo(load_settings(), count, timeout)


@main.group(invoke_without_command=True)
@click.pass_context
def tables(ctx: click.Context) -> None:
    """List the lakehouse's Iceberg tables with snapshot, file and record counts."""
    if ctx.invoked_subcommand is not None:
        return
    from flowlake.catalog import describe_tables, load_catalog

    table = Table("table", "snapshots", "data files", "records", "size")
    for info in describe_tables(load_catalog(load_settings())):
        table.add_row(info.identifier, str(info.snapshots), str(info.data_files), str(info.records),
                      f"{info.size_bytes / 1e6:.1f} MB")
    out.print(table)


@tables.command("create")
def tables_create() -> None:
    """Create the namespaces and tables that are missing (idempotent)."""
    from flowlake.catalog import ensure_catalog

    ensure_catalog(load_settings())
    err.print("[green]tables are in place[/green]")


@main.group(invoke_without_command=True)
@click.pass_context
def views(ctx: click.Context) -> None:
    """The curated Trino views for SQL users (lakehouse.analytics), with what each shows."""
    if ctx.invoked_subcommand is not None:
        return
    from flowlake.views import list_views

    table = Table("view", "what it shows")
    for name, comment in list_views(load_settings()):
        table.add_row(f"analytics.{name}", comment)
    out.print(table)


@views.command("create")
def views_create() -> None:
    """Create or replace every view of sql/trino/views/ (idempotent)."""
    from flowlake.views import SCHEMA, create_views

    names = create_views(load_settings())
    err.print(f"[green]{len(names)} views in analytics:[/green] {', '.join(f'{SCHEMA}.{n}' for n in names)}")


@main.command()
@click.option("--table", "tables", multiple=True, help="only this table (repeatable), e.g. bronze.events")
@click.option("--step", "steps", multiple=True,
              type=click.Choice(["retention", "compact", "expire", "orphans", "manifests"]),
              help="only this step (repeatable); default: all five")
@click.option("--schedule", is_flag=True,
              help="keep running: maintain each table on the cron schedule of iceberg/maintenance.toml")
def maintain(tables: tuple[str, ...], steps: tuple[str, ...], schedule: bool) -> None:
    """Delete partitions past their retention, compact data files, expire snapshots, remove orphan files and
    rewrite manifests (a batch Flink job on the cluster), per the policy in iceberg/maintenance.toml."""
    import logging

    from flowlake import logs
    from flowlake import maintain as maintenance

    settings = load_settings()
    if schedule:
        logs.setup("maintenance")
        maintenance.schedule(settings)
        return
    logs.console(logging.INFO)  # each table's report as it finishes
    with err.status("maintenance job running on the Flink cluster"):
        reports = maintenance.run_once(settings, list(tables) or None, tuple(steps) or maintenance.STEPS)
    if any(r.get("errors") for r in reports):
        raise FlowlakeError(f"maintenance failed for some tables; see {maintenance.history_file(settings)}")


def _iso_time(option: str, text: str) -> datetime:
    """An option's ISO-8601 time, UTC when it names no zone."""
    from datetime import UTC

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FlowlakeError(f"{option} {text!r} is not an ISO-8601 time, e.g. 2026-12-07T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command("check")
@click.option("--table", "tables", multiple=True, help="only the checks of this table (repeatable), e.g. silver.orders")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="expectations file (default: iceberg/quality.toml)")
@click.option("--at", "at", default=None, help="check the windows ending at this ISO-8601 time (default: now)")
def check_tables(tables: tuple[str, ...], path: Path | None, at: str | None) -> None:
    """Run the table checks of iceberg/quality.toml through Trino (volume, nulls, distinct values, allowed
    values, drift, referential, freshness, gold against silver), append the results to
    quality.check_results and print them. Exit status 1 when a check failed."""
    from flowlake import quality

    moment = _iso_time("--at", at) if at else None
    run_id, results = quality.check(load_settings(), list(tables) or None, path or quality.CHECKS_FILE, moment,
                                    progress=lambda line: err.print(f"  {line}"))
    table = Table("check", "table", "subject", "observed", "threshold", "result")
    for r in results:
        observed = "-" if r.observed is None else f"{r.observed:.4g}"
        table.add_row(r.check, r.table, r.subject, observed, r.threshold,
                      "[green]pass[/green]" if r.passed else f"[red]FAIL[/red] {escape(r.details)}")
    out.print(table)
    failed = sum(not r.passed for r in results)
    err.print(f"run {run_id}: {len(results) - failed} passed, {failed} failed (quality.check_results)")
    if failed:
        raise SystemExit(1)


@main.command("sample")
@click.option("--table", "identifier", required=True, help="the table, e.g. silver.support_messages")
@click.option("--by", "by", required=True, help="stratify by these columns, comma-separated, e.g. country,channel")
@click.option("--fraction", type=float, default=None, help="this share of every stratum (rounded up)")
@click.option("--per-stratum", "per_stratum", type=int, default=None, help="this many rows of every stratum")
@click.option("--balance", is_flag=True, help="every stratum as many rows as the smallest one takes (class balance)")
@click.option("--seed", type=int, required=True, help="the same seed picks the same rows (at the same snapshot)")
@click.option("--where", default="", help="a SQL filter on the rows first, e.g. \"event_time > date '2026-12-01'\"")
@click.option("--out", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PATH.parquet or PATH.csv")
@click.option("--user", default=None, help="read as this Trino user (default: the engineer); access rules apply")
def sample_table(identifier: str, by: str, fraction: float | None, per_stratum: int | None, balance: bool, seed: int,
                 where: str, path: Path, user: str | None) -> None:
    """A stratified, optionally class-balanced sample of a table, computed in Trino at one snapshot and
    repeatable for a seed; prints how many rows each stratum had and gave."""
    from flowlake.sample import sample

    columns = [c.strip() for c in by.split(",") if c.strip()]
    found = sample(load_settings(), identifier, columns, path, seed, fraction, per_stratum, balance, where, user)
    table = Table(*columns, "rows", "sampled")
    for stratum in found:
        table.add_row(*("-" if v is None else str(v) for v in stratum.values), str(stratum.rows), str(stratum.taken))
    out.print(table)
    err.print(f"{sum(s.taken for s in found)} rows from {len(found)} strata written to {path}")


@main.group()
def quarantine() -> None:
    """Quarantined records (quarantine.events): run them through the rules again."""


@quarantine.command("replay")
@click.option("--rule", required=True, help="the rule id the records failed, e.g. payment.currency.enum")
@click.option("--since", default=None, help="only records quarantined from this ISO-8601 time on")
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="check with this rules file instead of udfs/rules/events.toml (the same fields)")
def quarantine_replay(rule: str, since: str | None, rules_file: Path | None) -> None:
    """Run the quarantined records of a rule through the validation rules again (a batch Flink job) and
    append the now-valid ones to silver, each event id at most once; recorded in audit.replays."""
    from flowlake.replay import replay
    from udfs.validation import RULES_FILE

    moment = _iso_time("--since", since) if since else None
    with err.status(f"replaying the records quarantined by {rule} on the Flink cluster"):
        done = replay(load_settings(), rule, moment, rules_file or RULES_FILE)
    written = sum(done.written.values())
    err.print(f"replay {done.replay_id}: {done.matched} quarantined records of {rule}, {written} written to silver "
              f"({', '.join(f'{t} {n}' for t, n in done.written.items()) or 'none new'}); audit.replays")


@main.group()
def gold() -> None:
    """Gold tables computed in batch from silver."""


@gold.command("restate")
@click.option("--from", "from_day", default=None, help="first day (YYYY-MM-DD); default: restate_lookback_days ago")
@click.option("--until", "until_day", default=None, help="the day after the last one (default: today, excluded)")
def gold_restate(from_day: str | None, until_day: str | None) -> None:
    """Recompute daily revenue and funnel from silver with the late events (a batch Flink job), overwriting
    the days' partitions of gold.revenue_daily and gold.funnel_daily; days older than the margin are final."""
    from datetime import date

    from flowlake.restate import restate

    def day(option: str, text: str | None) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            raise FlowlakeError(f"{option} {text!r} is not a day, e.g. 2026-12-07") from None

    with err.status("restating daily gold on the Flink cluster"):
        done = restate(load_settings(), day("--from", from_day), day("--until", until_day))
    table = Table("day", "revenue rows", "final")
    for restated, final, rows in done.days:
        table.add_row(restated.isoformat(), str(rows), "final" if final else "open")
    out.print(table)
    err.print(f"restated {done.from_day} to {done.until_day} (excluded); days ending before "
              f"{done.final_before:%Y-%m-%d %H:%M} UTC are final")


@main.command("logs")
@click.argument("service", required=False)
@click.option("--follow", "-f", is_flag=True, help="keep printing new records as they are written")
@click.option("--lines", "-n", default=50, show_default=True, help="how many records to print first")
@click.option("--json", "as_json", is_flag=True, help="the records as written (JSON lines)")
def logs_command(service: str | None, follow: bool, lines: int, as_json: bool) -> None:
    """The local stack's logs (JSON lines): one service's, or every service's merged by time."""
    import json

    from flowlake import logs

    settings = load_settings()
    files = logs.log_files(settings.log_dir, service)
    if not files:
        known = ", ".join(sorted(logs.log_files(settings.log_dir, None))) or "none yet"
        raise FlowlakeError(f"no log of {service or 'any service'} under {settings.log_dir}: services with logs: "
                            f"{known}")

    def show(record: dict[str, object]) -> None:
        out.print(json.dumps(record, ensure_ascii=False) if as_json else escape(logs.render(record)),
                  soft_wrap=True, highlight=False)

    for record in logs.read(files, lines):
        show(record)
    if follow:
        try:
            for record in logs.follow(files):
                show(record)
        except KeyboardInterrupt:
            pass


@main.command()
def exporter() -> None:
    """Serve Kafka consumer lag (per group, topic and partition, from the broker) and end offsets as
    Prometheus metrics on FLOWLAKE_EXPORTER_PORT; a stack service of `flowlake up`."""
    from flowlake import logs
    from flowlake.exporter import serve

    logs.setup("exporter")
    serve(load_settings())


@main.group()
def pii() -> None:
    """PII detection and masking (the same code that runs inside Flink)."""


@pii.command("scan")
@click.argument("source", type=click.File("r", encoding="utf-8", errors="replace"), default="-")
@click.option("--mask", "policy", type=click.Choice([p.value for p in Policy]), default=None,
              help="write the input masked with this policy instead of the findings")
@click.option("--text", "as_text", is_flag=True, help="treat every line as text, even when it is JSON")
def pii_scan(source: TextIO, policy: str | None, as_text: bool) -> None:
    """Scan SOURCE (a file, or - for standard input): text or JSON lines. Prints findings as JSON lines."""
    from flowlake.pii_scan import mask_lines, scan_lines

    lines = mask_lines(source, not as_text, Policy(policy)) if policy else scan_lines(source, not as_text)
    for line in lines:
        click.echo(line)


@main.group()
def cdc() -> None:
    """The captured database tables (the cdc job)."""


@cdc.command("verify")
@click.option("--table", "tables", multiple=True, help="a captured table (default: every one)")
def cdc_verify(tables: tuple[str, ...]) -> None:
    """Compare each silver upsert table with its source table now, row by row through Trino (PII hashed as the
    job hashes it); exits 1 when they differ. While changes flow, silver trails the source by up to a checkpoint
    interval: stop the changes, or run it again."""
    from flowlake.capture import silver_differences
    from iceberg import registry

    unknown = sorted(set(tables) - set(registry.CAPTURED))
    if unknown:
        raise click.UsageError(f"not captured tables: {', '.join(unknown)} (those are {', '.join(registry.CAPTURED)})")
    chosen = [registry.CAPTURED[name] for name in tables or registry.CAPTURED]
    differences = silver_differences(load_settings(), chosen)
    for table in chosen:
        if table.name not in differences:
            err.print(f"[green]{table.identifier} equals {table.name}[/green]")
            continue
        err.print(f"[red]{table.identifier} differs from {table.name}[/red]")
        for side, rows in differences[table.name].items():
            err.print(f"  {side}:")
            for row in rows:
                err.print(f"    {row}", markup=False, highlight=False)
    if differences:
        raise SystemExit(1)


@main.group()
def privacy() -> None:
    """Privacy requests found in support messages, carried out: erasure of a person from every layer, an export
    of their data, or closed by hand with a note."""


@privacy.command("requests")
@click.option("--overdue", is_flag=True, help="only open requests past their due date (30 days after the message)")
@click.option("--all", "include_done", is_flag=True, help="the ones carried out too")
@click.option("--intent", type=click.Choice(["ERASURE", "ACCESS", "RECTIFICATION", "OPT_OUT", "UNSUBSCRIBE"]),
              default=None, help="only requests of this kind")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
def privacy_requests(overdue: bool, include_done: bool, intent: str | None, wide: bool) -> None:
    """List privacy requests, the oldest due first. In a narrow terminal: the request id (its intent is its
    last part), due date and status; --wide for confidence, received time and user token too."""
    from flowlake.privacy import requests

    rows = [r for r in requests(load_settings(), overdue, include_done) if intent is None or r[1] == intent]
    cells = [[request_id, kind, f"{confidence:.2f}", f"{received:%Y-%m-%d %H:%M}", f"{due:%Y-%m-%d}", status, token]
             for request_id, kind, confidence, received, due, status, token, _decided_by in rows]
    out.print(fitted_table(["request", "intent", "confidence", "received", "due by", "status", "user token"], cells,
                           ["request", "due by", "status"], out.width, wide))
    kind = "overdue" if overdue else "open" if not include_done else "all"
    out.print(f"{len(rows)} requests ({kind})")


@privacy.command("classify")
@click.argument("text_or_file")
def privacy_classify(text_or_file: str) -> None:
    """Which privacy requests a message makes, how sure, and what decided it (a rule of
    udfs/rules/privacy_intents.toml or the model): TEXT, or a FILE with one message per line."""
    from udfs.privacy_model import STRONG_RULE, decide, load_model

    path = Path(text_or_file)
    texts = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [text_or_file]
    table = Table("message", "intent", "confidence", "decided by")
    for text in (t for t in texts if t.strip()):
        decided = decide(text)
        shown = escape(text if len(text) <= 80 else text[:77] + "...")
        if not decided:
            table.add_row(shown, "NONE", "", "")
        for i, intent in enumerate(decided):
            table.add_row(shown if i == 0 else "", intent.label, f"{intent.confidence:.2f}", intent.by)
    out.print(table)
    out.print(f"model {load_model().version}; rule hits of confidence >= {STRONG_RULE} stand alone, weaker ones need "
              "the model")


@privacy.command("erase")
@click.option("--user", "user_id", help="the customer's user_id")
@click.option("--request", "request_id", help="a request id from `flowlake privacy requests` (its user is erased)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def privacy_erase(user_id: str | None, request_id: str | None, yes: bool) -> None:
    """Erase every row of one person from bronze, silver, quarantine and gold, physically (data files
    rewritten, older snapshots expired), and record it in audit.erasures."""
    from flowlake.privacy import erase, user_of_request

    if (user_id is None) == (request_id is None):
        raise FlowlakeError("give exactly one of --user USER_ID or --request REQUEST_ID")
    settings = load_settings()
    user_id = user_id or user_of_request(settings, request_id or "")
    if not yes:
        click.confirm(f"Erase every row of {user_id} from every layer, including its history? This cannot be "
                      "undone", abort=True)
    erasure = erase(settings, user_id, [request_id] if request_id else [], progress=err.print)
    removed = sum(erasure.rows_removed.values())
    out.print(f"erased {user_id}: {removed} rows from {len(erasure.rows_removed)} tables, "
              f"{erasure.files_rewritten} data files rewritten, {erasure.snapshots_expired} snapshots expired, "
              f"{len(erasure.files_deleted)} files deleted; requests done: {', '.join(erasure.request_ids) or 'none'}; "
              f"audit: {settings.catalog_name}.audit.erasures erasure_id = '{erasure.erasure_id}'")


@privacy.command("resolve")
@click.option("--request", "request_id", required=True, help="the request id (`flowlake privacy requests`)")
@click.option("--note", required=True, help="what was done: it goes to audit.request_resolutions")
@click.option("--not-a-request", is_flag=True, help="the message asked for nothing of the kind (closes an erasure or "
              "access request without carrying it out)")
def privacy_resolve(request_id: str, note: str, not_a_request: bool) -> None:
    """Close an open request by hand: a rectification made, an opt-out or unsubscribe carried out, or a
    message that was no request at all; recorded in audit.request_resolutions."""
    from flowlake.privacy import resolve

    settings = load_settings()
    resolution_id = resolve(settings, request_id, note, not_a_request)
    out.print(f"{request_id} done; audit: {settings.catalog_name}.audit.request_resolutions "
              f"resolution_id = '{resolution_id}'")


@privacy.command("export")
@click.option("--user", "user_id", help="the customer's user_id")
@click.option("--request", "request_id", help="an ACCESS request id from `flowlake privacy requests`")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="a new or empty directory for the bundle (default: <data dir>/exports/<export id>)")
def privacy_export(user_id: str | None, request_id: str | None, out_dir: Path | None) -> None:
    """Export every row of one person from bronze, quarantine, silver and gold (an access request): one
    JSON Lines and one Parquet file per table, a manifest with checksums and snapshot ids, a README;
    recorded in audit.access_exports, the person's ACCESS requests marked done."""
    import uuid

    from flowlake.privacy import user_of_request
    from flowlake.privacy_export import export

    if (user_id is None) == (request_id is None):
        raise FlowlakeError("give exactly one of --user USER_ID or --request REQUEST_ID")
    settings = load_settings()
    user_id = user_id or user_of_request(settings, request_id or "")
    out_dir = out_dir or settings.data_dir / "exports" / uuid.uuid4().hex[:12]
    bundle = export(settings, user_id, out_dir, [request_id] if request_id else [], progress=err.print)
    rows = sum(t.rows for t in bundle.tables)
    out.print(f"exported {user_id}: {rows} rows from {sum(1 for t in bundle.tables if t.rows)} of "
              f"{len(bundle.tables)} tables into {bundle.out} ({bundle.bytes / 1e6:.2f} MB); requests done: "
              f"{', '.join(bundle.request_ids) or 'none'}; audit: {settings.catalog_name}.audit.access_exports "
              f"export_id = '{bundle.export_id}'")


def run() -> None:
    from flowlake import logs

    command = logs.start_command(sys.argv[1:])
    code: int | str | None = 0
    try:
        main(standalone_mode=False)
    except FlowlakeError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)  # the text as is: SQL, carets
        command.error(str(exc))
        code = 1
    except click.exceptions.Abort:
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:
        command.error(repr(exc))
        command.end(1)
        raise
    command.end(code)
    if code:
        sys.exit(code)

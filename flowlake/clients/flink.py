"""Submitting jobs to the Flink session cluster and reading its REST API."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from flink_jobs.registry import CDC_PASSWORD_ENV, JOBS, KAFKA_PASSWORD_ENV, TERMINAL_STATES
from flowlake import flink_security, kafka_security
from flowlake.clients import storage
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import JobFailed, ServiceUnavailable
from flowlake.stack.runtime import Runtime
from udfs.masking import HASH_KEY_ENV

console = Console(stderr=True)

# flink_jobs reads the table registry (iceberg/registry.py): a worker that imports a job module needs it too.
SHIPPED_PACKAGES = ("udfs", "flink_jobs", "iceberg")


@dataclass(frozen=True)
class FlinkRest:
    settings: Settings

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request to the REST API, with the client certificate when Flink's TLS is on."""
        return requests.request(method, f"{self.settings.flink_rest_url}{path}", timeout=10,
                                **flink_security.requests_options(self.settings), **kwargs)

    def get(self, path: str) -> Any:
        try:
            response = self._request("GET", path)
        except requests.exceptions.SSLError as exc:
            raise ServiceUnavailable(
                f"Flink at {self.settings.flink_rest_url} refused flowlake's TLS client certificate "
                f"({exc}): FLOWLAKE_FLINK_CA_FILE, FLOWLAKE_FLINK_CLIENT_CERT and FLOWLAKE_FLINK_CLIENT_KEY name "
                "the cluster's; FLOWLAKE_FLINK_TLS=false for a cluster without TLS") from exc
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"Flink not reachable at {self.settings.flink_rest_url}: run `flowlake up`") from exc
        response.raise_for_status()
        return response.json()

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.get("/jobs/overview")["jobs"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.get(f"/jobs/{job_id}"))

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        return dict(self.get(f"/jobs/{job_id}/checkpoints"))

    def completed_checkpoints(self, job_id: str) -> int:
        return int(self.checkpoints(job_id)["counts"]["completed"])

    def live_jobs(self) -> list[dict[str, Any]]:
        """The cluster's jobs that have not ended (running, restarting, about to run)."""
        return [job for job in self.jobs() if job["state"] not in TERMINAL_STATES]

    def live_job_ids(self) -> set[str]:
        return {str(job["jid"]) for job in self.live_jobs()}

    def running_job(self, name: str) -> str | None:
        """The id of the live job of that name, if any."""
        return next((str(job["jid"]) for job in self.live_jobs() if job["name"] == name), None)

    def stop_with_savepoint(self, job_id: str, target_dir: str | None = None, timeout: float = 600) -> str:
        """Stop the job after a final savepoint (sources stop, every sink commits); returns its path."""
        body: dict[str, Any] = {"drain": False, "formatType": "CANONICAL"}
        if target_dir:
            body["targetDirectory"] = target_dir
        response = self._request("POST", f"/jobs/{job_id}/stop", json=body)
        response.raise_for_status()
        trigger = response.json()["request-id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/jobs/{job_id}/savepoints/{trigger}")
            if status["status"]["id"] == "COMPLETED":
                operation = status.get("operation", {})
                if "location" in operation:
                    return str(operation["location"])
                cause = operation.get("failure-cause", {}).get("stack-trace", "")
                raise JobFailed(f"the savepoint of job {job_id} failed; the job keeps running:\n{cause[:2000]}")
            time.sleep(1)
        raise JobFailed(f"the savepoint of job {job_id} did not complete within {timeout:.0f} s: "
                        f"see {self.settings.flink_rest_url}/#/job/running/{job_id}/checkpoints")

    def cancel(self, job_id: str) -> None:
        self._request("PATCH", f"/jobs/{job_id}?mode=cancel").raise_for_status()

    def wait_for_state(self, job_id: str, states: set[str], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = "UNKNOWN"
        while time.monotonic() < deadline:
            state = self.job(job_id)["state"]
            if state in states:
                return str(state)
            if state in TERMINAL_STATES:
                break
            time.sleep(1)
        exceptions = self.get(f"/jobs/{job_id}/exceptions").get("root-exception") or ""
        raise JobFailed(f"job {job_id} is {state}, expected {sorted(states)}: {exceptions[:2000]}")


def job_arguments(settings: Settings) -> list[str]:
    return ["--kafka-bootstrap", settings.kafka_bootstrap, "--catalog-name", settings.catalog_name,
            "--catalog-jdbc-url", settings.catalog_jdbc_url, "--catalog-user", settings.catalog_user,
            "--warehouse", settings.warehouse_uri, "--checkpoint-dir", settings.checkpoints_uri,
            *storage.job_arguments(settings)]


def stage_python_files(stage: Path) -> Path:
    """Copy the packages the Python workers import (udfs, flink_jobs) into `stage`, shipped with
    --pyFiles: Flink puts a shipped directory itself on the workers' PYTHONPATH, so the packages
    must sit inside one. `flink run` uploads it to the cluster's blob server with the job, so the
    copy is only needed while it runs, and a running job keeps the code it started with."""
    for package in SHIPPED_PACKAGES:
        shutil.copytree(REPO_ROOT / package, stage / package, ignore=shutil.ignore_patterns("__pycache__"))
    return stage


def _gold_written_until(settings: Settings) -> list[str]:
    """The ingest job's guard against reopening gold windows written before a restart."""
    from flowlake.catalog import gold_written_until, load_catalog

    until = gold_written_until(load_catalog(settings))
    return ["--gold-written-until", until.isoformat()] if until else []


def _option(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args[:-1] else default


def _source_arguments(settings: Settings, rt: Runtime, extra_args: list[str]) -> list[str]:
    """The ingest job's source (settings.events_source unless --source is given); for Pulsar, the
    service URL, the connector jars it ships (they are not in Flink's lib/) and its subscription."""
    from flowlake.clients.pulsar import ensure_subscription

    source = _option(extra_args, "--source", settings.events_source)
    added = [] if "--source" in extra_args else ["--source", source]
    if source == "pulsar":
        from flowlake.stack.install import ensure_extra

        ensure_extra(rt, "pulsar")  # on first use: the connector's jars
        jars = sorted(str(jar) for jar in rt.jar_dir("flink-pulsar").glob("*.jar"))
        if not jars:
            raise JobFailed(f"no Pulsar connector jars in {rt.jar_dir('flink-pulsar')}: run `flowlake install`")
        ensure_subscription(settings, _option(extra_args, "--topic", settings.events_topic),
                            _option(extra_args, "--group-id", JOBS["ingest"].group_id))
        added += ["--pulsar-service-url", settings.pulsar_service_url, "--connector-jars", ";".join(jars)]
    return added


def settings_arguments(settings: Settings, job: str, given: list[str]) -> list[str]:
    """The job's arguments that come from the settings (the registry's settings_arguments), those not given."""
    return [part for flag, field in JOBS[job].settings_arguments if flag not in given
            for part in (flag, str(getattr(settings, field)))]


def _ingest_arguments(settings: Settings, rt: Runtime, extra_args: list[str]) -> list[str]:
    gold = [] if "--gold-written-until" in extra_args else _gold_written_until(settings)
    return gold + _source_arguments(settings, rt, extra_args)


def _cdc_arguments(settings: Settings, rt: Runtime, extra_args: list[str]) -> list[str]:
    """The source database's address and the connector's jar, shipped with the job (not in Flink's lib/)."""
    from flowlake.stack.install import ensure_extra

    ensure_extra(rt, "cdc")  # on first use: the Flink CDC connector
    jars = sorted(str(jar) for jar in rt.jar_dir("flink-cdc").glob("*.jar"))
    if not jars:
        raise JobFailed(f"no Flink CDC connector jar in {rt.jar_dir('flink-cdc')}: run `flowlake install --with cdc`")
    added = ["--connector-jars", ";".join(jars)]
    from flowlake.replication import ensure_slot

    slot = _option(extra_args, "--slot", settings.cdc_slot)
    if ensure_slot(settings, slot):
        console.print(f"  made the replication slot {slot}: it holds the database's WAL until the job reads it "
                      "(`flowlake stop cdc --drop-slot` drops it)")
    for flag, value in (("--host", settings.postgres_host or settings.host), ("--port", str(settings.postgres_port))):
        if flag not in extra_args:
            added += [flag, value]
    return added


# Arguments of a job that take more than a setting to fill in (the registry has those that don't).
PREPARE = {"ingest": _ingest_arguments, "cdc": _cdc_arguments}


def job_name(job: str, extra_args: list[str]) -> str:
    """The Flink job name a submission runs under (--job-name, else the registry's)."""
    known = JOBS.get(job)
    return _option(extra_args, "--job-name", known.pipeline_name if known and known.streaming else f"flowlake-{job}")


def _submissions_dir(settings: Settings) -> Path:
    return settings.data_dir / "jobs"


def record_submission(settings: Settings, name: str, job_id: str, job: str, extra_args: list[str]) -> None:
    """Which Flink job runs under a name: what `--resume` needs when the JobManager died with it."""
    path = _submissions_dir(settings) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"job_id": job_id, "job": job, "args": extra_args,
                                "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))


def latest_checkpoint(settings: Settings, job_id: str) -> str | None:
    """The newest complete checkpoint a job left in the checkpoint dir (retained on cancel and on a crash):
    <checkpoints>/<job id>/chk-<n> with its _metadata."""
    base = f"{settings.checkpoints_uri}/{job_id}"
    if base.startswith("file://"):
        folder = Path(base.removeprefix("file://"))
        done = [int(p.name[4:]) for p in folder.glob("chk-*") if p.name[4:].isdigit() and (p / "_metadata").exists()]
    else:
        from pyarrow import fs

        s3 = storage.filesystem(settings)
        listed = s3.get_file_info(fs.FileSelector(base.removeprefix("s3://"), allow_not_found=True, recursive=True))
        done = [int(part[4:]) for info in listed if info.path.endswith("/_metadata")
                for part in [info.path.split("/")[-2]] if part.startswith("chk-") and part[4:].isdigit()]
    return f"{base}/chk-{max(done)}" if done else None


def resume_point(settings: Settings, job: str, extra_args: list[str]) -> str:
    """Where a job that is gone (its JobManager crashed, say) restarts from: the newest retained checkpoint
    of the last job submitted under its name."""
    name = job_name(job, extra_args)
    record = _submissions_dir(settings) / f"{name}.json"
    if not record.exists():
        raise JobFailed(f"no job named {name!r} was submitted from {settings.data_dir}: nothing to resume")
    previous = json.loads(record.read_text())["job_id"]
    if FlinkRest(settings).running_job(name) is not None:
        raise JobFailed(f"job {name!r} is running: `flowlake stop {job}` first, or resume nothing")
    checkpoint = latest_checkpoint(settings, previous)
    if checkpoint is None:
        raise JobFailed(f"job {name!r} ({previous}) left no complete checkpoint under {settings.checkpoints_uri}/"
                        f"{previous}: submit it without --resume (it starts from the committed Kafka offsets)")
    return checkpoint


def submit(settings: Settings, job: str, extra_args: list[str] | None = None, from_savepoint: str | None = None,
           allow_non_restored_state: bool = False) -> str:
    """Submit a job (detached) to the session cluster, from a savepoint if given; returns its Flink
    job id. State maps by operator uid (see the README on code changes); `allow_non_restored_state`
    drops the state of operators the new job no longer has. The ingest job is told where the gold
    windows already written end (`--gold-written-until`)."""
    if job not in JOBS:
        raise JobFailed(f"unknown job {job!r}: choose one of {', '.join(sorted(JOBS))}")
    FlinkRest(settings).get("/overview")  # fails with the fix when Flink is down
    rt = Runtime(settings)
    extra_args = list(extra_args or [])
    extra_args += settings_arguments(settings, job, extra_args)
    if job in PREPARE:
        extra_args += PREPARE[job](settings, rt, extra_args)
    grant_kafka_access(settings, job, extra_args)
    restore = ["--fromSavepoint", from_savepoint] if from_savepoint else []
    restore += ["--allowNonRestoredState"] if from_savepoint and allow_non_restored_state else []
    returncode, output = _flink_run(settings, rt, job, [*restore, "--detached"], extra_args, timeout=600)
    match = re.search(r"JobID ([0-9a-f]{32})", output)
    if returncode != 0 or match is None:
        raise failure_tail(job, returncode, output)
    record_submission(settings, job_name(job, extra_args), match.group(1), job, extra_args)
    return match.group(1)


def grant_kafka_access(settings: Settings, job: str, args: list[str]) -> None:
    """The job's Kafka principal may read and write the topics its arguments name, use its consumer group and its
    transactional ids; an ingest job's input topic may be written by the producer principal."""
    spec = JOBS[job]
    if not spec.kafka_principal:
        return
    pulsar_source = job == "ingest" and _option(args, "--source", "kafka") == "pulsar"
    reads = [] if pulsar_source else [t for t in (_option(args, flag, "") for flag in spec.kafka_reads) if t]
    writes = [t for t in (_option(args, flag, "") for flag in spec.kafka_writes) if t]
    group = _option(args, "--group-id", spec.group_id)
    kafka_security.grant(settings, spec.kafka_principal, kafka_security.job_grants(reads, writes, group))
    if job == "ingest":
        kafka_security.grant(settings, "producer", kafka_security.producer_grants(reads))


def run_attached(settings: Settings, job: str, job_args: list[str], timeout: float = 3600,
                 rules_file: Path | None = None) -> tuple[int, str]:
    """Run a job's driver to its end (`flink run` without --detached): the Flink jobs it starts (a
    batch job, or none) finish before it returns. Returns its exit code and output. `rules_file` ships in
    place of udfs/rules/events.toml: the validation rules the job's Python workers apply."""
    FlinkRest(settings).get("/overview")
    return _flink_run(settings, Runtime(settings), job, [], job_args, timeout=timeout, rules_file=rules_file)


def failure_tail(job: str, returncode: int, output: str) -> JobFailed:
    tail = "\n".join(output.strip().splitlines()[-40:])
    return JobFailed(f"`flink run` of {job} failed (exit {returncode}):\n{tail}")


def _flink_run(settings: Settings, rt: Runtime, job: str, run_options: list[str], job_args: list[str],
               timeout: float, rules_file: Path | None = None) -> tuple[int, str]:
    python = str(rt.job_python)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    conf_dir = settings.data_dir / "flink" / "conf"  # the local cluster's; else the distribution's own
    if not conf_dir.is_dir():
        conf_dir = rt.flink_home / "conf"
    if conf_dir == settings.data_dir / "flink" / "conf":
        from flowlake.keys import pii_hash_key

        env[HASH_KEY_ENV] = pii_hash_key(settings)  # the key the local stack's TaskManagers have
    role = JOBS[job].kafka_principal
    if role and kafka_security.enabled(settings):
        env[KAFKA_PASSWORD_ENV] = kafka_security.password(settings, role)  # the driver's, never its arguments
    if job == "cdc":
        env[CDC_PASSWORD_ENV] = settings.cdc_secret()
    env.update(JAVA_HOME=str(rt.java17_home), FLINK_CONF_DIR=str(conf_dir),
               FLINK_LOG_DIR=str(settings.log_dir), PYTHONPATH=str(REPO_ROOT),
               FLOWLAKE_CATALOG_PASSWORD=settings.catalog_secret(), **storage.job_env(settings))
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pyfiles-", dir=settings.run_dir) as stage:
        shipped = stage_python_files(Path(stage))
        if rules_file is not None:
            shutil.copyfile(rules_file, shipped / "udfs" / "rules" / "events.toml")
        cmd = [str(rt.flink_home / "bin" / "flink"), "run", *run_options,
               # A URL: `flink run` takes TLS on or off from its scheme, whatever the configuration says.
               "--jobmanager", settings.flink_rest_url,
               "--python", str(JOBS[job].path), "--pyExecutable", python, "--pyClientExecutable", python,
               "--pyFiles", str(shipped),
               *job_arguments(settings), *kafka_security.job_arguments(settings, role), *job_args]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)
    return result.returncode, result.stdout + result.stderr

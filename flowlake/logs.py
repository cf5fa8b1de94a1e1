"""Structured logs: flowlake's processes (the CLI, the exporter, the maintenance scheduler, the alert receiver)
write JSON lines, one object per record, as Flink's JobManager and TaskManager do (log4j2's
JsonTemplateLayout, deploy/local/flink/log-template.json): a log system ships them as they are. Every record
carries the service and the operation's trace id (one per CLI command, handed to the processes it starts
through FLOWLAKE_TRACE_ID); Flink's carry the job id where the thread works for a job.

`flowlake logs [SERVICE] [--follow]` reads them back on the local stack."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

TRACE_ENV = "FLOWLAKE_TRACE_ID"
# Attributes a record may carry (logging's `extra=`) that go into the JSON object as they are.
CONTEXT = ("job_id", "job_name", "table", "check", "task", "request_id", "topic")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def trace_id() -> str:
    """This operation's trace id: inherited from the process that started this one, else a new one (kept in
    the environment, so that processes started from here carry it on)."""
    if not os.environ.get(TRACE_ENV):
        os.environ[TRACE_ENV] = uuid.uuid4().hex[:16]
    return os.environ[TRACE_ENV]


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "service": self.service, "logger": record.name,
            "message": record.getMessage(), "trace_id": trace_id(), "pid": record.process,
        }
        entry.update({key: value for key, value in vars(record).items()
                      if key not in _STANDARD and not key.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(service: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on stderr (a service's log file, or a container's output) for every logger of the process."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings as records too, not raw stderr
    for noisy in ("urllib3", "py4j", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def console(level: int = logging.WARNING, everything: bool = False) -> None:
    """flowlake's own records at `level` or above also on the terminal, as plain lines (a command's progress, a
    warning in flowlake's words); client libraries' own lines (librdkafka, urllib3) stay in the log file unless
    `everything` (`flowlake --verbose`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if everything
                                           else "%(levelname)s %(message)s"))
    handler.setLevel(level)
    handler.addFilter(lambda record: record.name != "flowlake.cli"  # the command's own record: the log file's
                      and (everything or record.name.startswith(("flowlake", "py.warnings"))))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, logging.StreamHandler)
                        or isinstance(h, logging.FileHandler)] + [handler]
    root.setLevel(min(root.level or level, level))


class Command:
    """One CLI invocation in the CLI's log (<data dir>/logs/cli.out): its arguments, its end and exit code,
    its duration; the records of everything it runs in between carry its trace id."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.started = time.monotonic()
        self.log = logging.getLogger("flowlake.cli")

    def error(self, message: str) -> None:
        self.log.error("failed: %s", message)

    def end(self, code: int | str | None) -> None:
        self.log.info("done: exit %s after %.1f s", code or 0, time.monotonic() - self.started,
                      extra={"exit_code": code or 0, "argv": self.argv})


def start_command(argv: list[str]) -> Command:
    """JSON lines into the CLI's log for this command (when the log dir is writable), warnings on the terminal."""
    trace_id()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for noisy in ("urllib3", "py4j", "kafka", "pyiceberg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from flowlake.config import load_settings

        log_dir = load_settings().log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_dir / "cli.out", encoding="utf-8")
        handler.setFormatter(JsonFormatter("cli"))
        root.handlers[:] = [handler]
    except Exception:  # a read-only or unset data dir: no file, the command still runs
        root.handlers[:] = []
    console(logging.WARNING)
    command = Command(argv)
    command.log.info("flowlake %s", " ".join(argv), extra={"argv": argv})
    return command


def marker(service: str, message: str) -> str:
    """A JSON line for what the stack manager itself writes into a service's log (its start)."""
    return json.dumps({"@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "INFO",
                       "service": service, "logger": "flowlake.stack", "message": message,
                       "trace_id": trace_id()}, ensure_ascii=False)


# Reading them back ---------------------------------------------------------------------------------------

def parse(line: str, service: str) -> dict[str, Any]:
    """A log line as a record: a JSON object as written, anything else (a JVM's crash output, a library
    printing to stdout) as the message of an unstructured record."""
    text = line.rstrip("\n")
    if text.startswith("{"):
        try:
            found = json.loads(text)
            if isinstance(found, dict):
                found.setdefault("service", service)
                return found
        except ValueError:
            pass
    return {"service": service, "level": "", "message": text, "unstructured": True}


def render(record: dict[str, Any]) -> str:
    stamp = str(record.get("@timestamp", ""))[:23].replace("T", " ")
    context = " ".join(f"{key}={record[key]}" for key in ("job_id", "trace_id") if record.get(key))
    text = f"{stamp} {record.get('level', ''):<5} {record['service']:<18} {record.get('message', '')}"
    if context:
        text += f"  [{context}]"
    if record.get("exception"):
        text += "\n" + str(record["exception"])
    return text


def log_files(log_dir: Path, service: str | None) -> dict[str, list[Path]]:
    """Each service's log files under the data dir's logs (and Flink's own), oldest first."""
    found: dict[str, list[Path]] = {}
    for path in sorted(log_dir.glob("*.out")):
        found.setdefault(path.stem, []).append(path)
    flink_logs = log_dir.parent / "flink" / "logs"
    for kind, name in (("standalonesession", "flink-jobmanager"), ("taskexecutor", "flink-taskmanager")):
        files = sorted(flink_logs.glob(f"flink-*-{kind}-*.log"), key=lambda p: p.stat().st_mtime)
        if files:
            found.setdefault(name, []).extend(files)
    if service is not None:
        return {service: found[service]} if service in found else {}
    return found


def read(paths: dict[str, list[Path]], last: int) -> list[dict[str, Any]]:
    """The last `last` records of the services, merged by time (unstructured lines keep their place)."""
    records: list[dict[str, Any]] = []
    for service, files in paths.items():
        lines = [line for path in files for line in path.read_text(errors="replace").splitlines() if line.strip()]
        stamp = ""
        for line in lines[-last:]:
            record = parse(line, service)
            stamp = str(record.get("@timestamp") or stamp)
            records.append({**record, "_order": stamp})  # an unstructured line sorts after the record before it
    records.sort(key=lambda r: r["_order"])  # stable: a file's lines keep their order
    return [{k: v for k, v in r.items() if k != "_order"} for r in records[-last:]]


def follow(paths: dict[str, list[Path]], poll_seconds: float = 0.5) -> Iterator[dict[str, Any]]:
    """New records as they are written (`tail -f` over every file), until interrupted."""
    handles = {}
    for service, files in paths.items():
        handle = files[-1].open(errors="replace")
        handle.seek(0, os.SEEK_END)
        handles[handle] = service
    while True:
        quiet = True
        for handle, service in handles.items():
            line = handle.readline()
            while line:
                quiet = False
                if line.strip():
                    yield parse(line, service)
                line = handle.readline()
        if quiet:
            time.sleep(poll_seconds)

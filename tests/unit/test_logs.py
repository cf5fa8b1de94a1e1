"""Structured logs: the JSON lines flowlake's processes write, and reading them back (`flowlake logs`)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from pathlib import Path

import pytest

from flowlake import logs
from flowlake.config import REPO_ROOT
from flowlake.stack.services import render

FLINK_CONF = REPO_ROOT / "deploy" / "local" / "flink"


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(logs.TRACE_ENV, "t-123")
    return "t-123"


def test_a_record_is_one_json_object_with_its_context(trace: str) -> None:
    stream = io.StringIO()
    logs.setup("exporter", stream=stream)
    try:
        log = logging.getLogger("flowlake.test")
        log.info("read %d groups", 3, extra={"job_id": "j1", "table": "silver.orders"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("scrape failed")
    finally:
        logging.getLogger().handlers[:] = []
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "read 3 groups" and first["level"] == "INFO" and first["service"] == "exporter"
    assert first["logger"] == "flowlake.test" and first["trace_id"] == trace
    assert first["job_id"] == "j1" and first["table"] == "silver.orders"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["@timestamp"])
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exception"]


def test_a_trace_id_is_made_once_and_handed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.TRACE_ENV, raising=False)
    made = logs.trace_id()
    assert re.fullmatch(r"[0-9a-f]{16}", made) and logs.trace_id() == made
    assert os.environ[logs.TRACE_ENV] == made  # what the processes started from here inherit


def test_reading_back_merges_services_by_time_and_keeps_unstructured_lines(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "exporter.out").write_text(
        '{"@timestamp": "2026-12-07T06:00:01.000+00:00", "level": "INFO", "message": "a"}\n'
        '{"@timestamp": "2026-12-07T06:00:03.000+00:00", "level": "WARNING", "message": "c"}\n')
    (log_dir / "alert-receiver.out").write_text(
        '{"@timestamp": "2026-12-07T06:00:02.000+00:00", "level": "INFO", "message": "b"}\n'
        "Traceback (most recent call last):\n")
    flink_logs = tmp_path / "flink" / "logs"
    flink_logs.mkdir(parents=True)
    (flink_logs / "flink-root-taskexecutor-0-host.log").write_text(
        '{"@timestamp": "2026-12-07T06:00:00.500Z", "level": "INFO", "message": "tm", "job_id": "j1"}\n')
    files = logs.log_files(log_dir, None)
    assert set(files) == {"exporter", "alert-receiver", "flink-taskmanager"}
    records = logs.read(files, 10)
    assert [r["message"] for r in records] == ["tm", "a", "b", "Traceback (most recent call last):", "c"]
    assert records[3]["unstructured"] and records[3]["service"] == "alert-receiver"
    assert "j1" in logs.render(records[0]) and "WARNING" in logs.render(records[-1])
    assert list(logs.log_files(log_dir, "exporter")) == ["exporter"] and logs.log_files(log_dir, "nope") == {}
    assert [r["message"] for r in logs.read(files, 2)] == ["Traceback (most recent call last):", "c"]


def test_the_flink_log_configuration_renders_to_json_layouts(tmp_path: Path) -> None:
    render(FLINK_CONF / "log4j-console.properties", tmp_path / "log4j-console.properties",
           template_uri="file:/conf/log-template.json")
    props = dict(line.split(" = ", 1) for line in (tmp_path / "log4j-console.properties").read_text().splitlines()
                 if " = " in line and not line.startswith("#"))
    for appender in ("console", "rolling"):
        assert props[f"appender.{appender}.layout.type"] == "JsonTemplateLayout"
        assert props[f"appender.{appender}.layout.eventTemplateUri"] == "file:/conf/log-template.json"
        assert props[f"appender.{appender}.layout.service.value"] == "${env:FLOWLAKE_SERVICE:-flink}"
    assert props["appender.rolling.fileName"] == "${sys:log.file}"
    template = json.loads((FLINK_CONF / "log-template.json").read_text())
    assert {"@timestamp", "level", "logger", "message", "job_id", "exception"} <= set(template)
    assert template["job_id"] == {"$resolver": "mdc", "key": "flink-job-id"}


def test_the_terminal_gets_flowlakes_words_and_client_libraries_only_when_verbose(
        capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.console(logging.WARNING)
        logging.getLogger("librdkafka").warning("%4|GETPID|rdkafka#producer-1| Coordinator load in progress")
        logging.getLogger("flowlake.health").warning("events topic keeps records 60 days")
        logging.getLogger("flowlake.cli").error("failed: the command's own record")
        quiet = capsys.readouterr().err
        assert "Coordinator" not in quiet and "own record" not in quiet
        assert "WARNING events topic keeps records 60 days" in quiet
        logs.console(logging.INFO, everything=True)
        logging.getLogger("librdkafka").warning("%4|GETPID| again")
        assert "WARNING librdkafka: %4|GETPID| again" in capsys.readouterr().err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)

"""`flowlake up` twice is harmless; `flowlake down` leaves no process behind, after every job the session ran.
Runs last (see conftest): it stops the stack, and nothing after it needs the stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from flowlake import stack
from flowlake.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.stack_lifecycle]
FLOWLAKE = str(Path(sys.executable).parent / "flowlake")


def _service_pids(settings: Settings) -> dict[str, int]:
    return {s.name: s.pid for s in stack.status(settings) if s.pid}


def _processes_using(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(data_dir) in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_up_twice_is_harmless_and_down_leaves_nothing(local_stack: Settings) -> None:
    before = _service_pids(local_stack)
    # The test stack runs Pulsar and the S3 server too (FLOWLAKE_PULSAR_ENABLED, FLOWLAKE_S3_ENABLED).
    assert set(before) == {"postgres", "s3", "kafka", "pulsar", "flink-jobmanager", "flink-taskmanager", "trino",
                           "alert-receiver", "alertmanager", "prometheus", "exporter"}

    second = subprocess.run([FLOWLAKE, "up"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    assert _service_pids(local_stack) == before
    assert all(s.healthy for s in stack.status(local_stack))

    family = []
    for pid in before.values():
        proc = psutil.Process(pid)
        family += [proc, *proc.children(recursive=True)]
    result = subprocess.run([FLOWLAKE, "down"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert _processes_using(local_stack.data_dir) == []
    assert not list(local_stack.run_dir.glob("*.pid"))

    status = subprocess.run([FLOWLAKE, "status"], capture_output=True, text=True, timeout=60)
    assert status.returncode == 1  # nothing healthy

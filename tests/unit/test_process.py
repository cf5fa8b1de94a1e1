"""ManagedProcess against real child processes (no JVM needed)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from flowlake.stack.process import ManagedProcess

# A parent that starts a child and both sleep: stop() must take the whole group down.
PARENT_WITH_CHILD = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"


def _proc(tmp_path: Path) -> ManagedProcess:
    return ManagedProcess("sleeper", tmp_path / "run", tmp_path / "logs")


def test_start_records_pid_and_stop_kills_children(tmp_path: Path) -> None:
    managed = _proc(tmp_path)
    proc = managed.start([sys.executable, "-c", PARENT_WITH_CHILD], dict(os.environ), cwd=tmp_path)
    deadline = time.monotonic() + 10
    while not proc.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    family = [proc, *proc.children(recursive=True)]
    assert len(family) == 2
    assert managed.process() is not None and managed.process().pid == proc.pid  # type: ignore[union-attr]
    managed.stop(timeout=5)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)
    assert not managed.pid_file.exists()


def test_stale_pid_file_is_cleaned(tmp_path: Path) -> None:
    managed = _proc(tmp_path)
    managed.run_dir.mkdir(parents=True)
    managed.pid_file.write_text("999999 12345.0\n")  # no such process
    assert managed.process() is None
    assert not managed.pid_file.exists()
    managed.stop()  # a no-op, not an error


def test_reused_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    managed = _proc(tmp_path)
    managed.run_dir.mkdir(parents=True)
    # Our own pid is alive, but its start time differs from the recorded one.
    managed.pid_file.write_text(f"{os.getpid()} 1.0\n")
    assert managed.process() is None


def test_log_captures_output(tmp_path: Path) -> None:
    managed = _proc(tmp_path)
    proc = managed.start([sys.executable, "-c", "print('hello from the service')"], dict(os.environ), cwd=tmp_path)
    proc.wait(10)
    assert "hello from the service" in managed.log_tail()
    assert managed.exited_early()


def test_a_live_service_stays_ours_when_the_wall_clock_moves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pid file holds the start in clock ticks since boot: a wall-clock start time (psutil's
    create_time) drifted past its tolerance on a long-running machine, and live services looked stale."""
    managed = _proc(tmp_path)
    proc = managed.start([sys.executable, "-c", "import time; time.sleep(30)"], dict(os.environ), cwd=tmp_path)
    try:
        monkeypatch.setattr(psutil.Process, "create_time", lambda self: 0.0)
        found = managed.process()
        assert found is not None and found.pid == proc.pid
    finally:
        managed.stop(timeout=5)

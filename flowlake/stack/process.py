"""A long-running process of the local stack: started in its own session (so the whole group,
children included, can be stopped), its pid and start time kept in a pid file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from flowlake.logs import marker


def start_ticks(pid: int) -> int:
    """When a process started, in clock ticks since boot (/proc/<pid>/stat, field 22). Unlike psutil's
    create_time, which adds the boot time as the wall clock sees it now, it does not move when the clock
    is adjusted: on a machine up for hours that drift passed a second, and live services were taken
    for stale ones (their pid files removed, so they could be neither stopped nor killed)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; returns those still alive. A zombie counts as gone:
    it has exited, and only its parent (which may be another program) can reap it."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.out"

    def process(self) -> psutil.Process | None:
        """The live process recorded in the pid file, or None (a stale pid file is removed)."""
        try:
            pid_text, started_text = self.pid_file.read_text().split()
            proc = psutil.Process(int(pid_text))
            # A reused pid has a different start time than the one we recorded.
            if start_ticks(proc.pid) == int(started_text) and proc.status() != psutil.STATUS_ZOMBIE:
                return proc
        except (FileNotFoundError, ProcessLookupError, ValueError, psutil.NoSuchProcess):
            pass
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, cmd: list[str], env: dict[str, str], cwd: Path, user: str | None = None) -> psutil.Process:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write((marker(self.name, f"starting: {' '.join(cmd)}") + "\n").encode())
            log.flush()
            popen = subprocess.Popen(
                cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, user=user, group=user, extra_groups=[] if user else None,
            )
        proc = psutil.Process(popen.pid)
        self.pid_file.write_text(f"{proc.pid} {start_ticks(proc.pid)}\n")
        return proc

    def exited_early(self) -> bool:
        return self.process() is None

    def stop(self, timeout: float = 30.0) -> None:
        proc = self.process()
        if proc is None:
            return
        family = [proc, *proc.children(recursive=True)]
        self._signal_group(proc.pid, signal.SIGTERM)
        alive = _wait_gone(family, timeout)
        if alive:
            self._signal_group(proc.pid, signal.SIGKILL)
            for p in alive:
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
            _wait_gone(alive, 10)
        self.pid_file.unlink(missing_ok=True)

    def crash(self) -> int:
        """SIGKILL the process and its children at once, as a crashed machine would (fault tests and
        benchmarks); returns its pid."""
        proc = self.process()
        if proc is None:
            raise RuntimeError(f"{self.name} is not running")
        family = [proc, *proc.children(recursive=True)]
        for member in family:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        # Reaped, not only exited: a JVM's threads hold its ports until the whole process is gone.
        psutil.wait_procs(family, timeout=30)
        return int(proc.pid)

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

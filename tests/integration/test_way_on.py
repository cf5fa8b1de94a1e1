"""The demo's last screen: every running service of the stack named with an address that answers, and the
queries it suggests run as printed."""

from __future__ import annotations

import io
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from rich.console import Console

from flowlake import demo, flink_security, stack
from flowlake.config import Settings
from flowlake.demo import next_queries, places, print_way_on
from flowlake.trino_security import certificate_file

from .conftest import IngestJob

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def answers(settings: Settings, address: str) -> bool:
    if address.startswith(settings.flink_rest_url):
        return requests.get(address, timeout=10, **flink_security.requests_options(settings)).status_code < 500
    if address.startswith(("http://", "https://")):
        verify: str | bool = str(certificate_file(settings)) if address.startswith("https://") else True
        return requests.get(address, timeout=10, verify=verify).status_code < 500
    host, port = address.rpartition("://")[2].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10):
        return True


def test_the_last_screen_names_every_running_service_and_its_address_answers(
        local_stack: Settings, ingest_job: IngestJob, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = local_stack
    running = {s.name for s in stack.status(settings) if s.healthy}
    shown = places(settings)
    assert {p.service for p in shown} == running
    for place in shown:
        assert answers(settings, place.address), place
    screen = io.StringIO()
    monkeypatch.setattr(demo, "console", Console(file=screen, width=80))  # an 80-column terminal: no address cut
    print_way_on(settings)
    for place in shown:
        assert place.service in screen.getvalue() and place.address in screen.getvalue(), place


def test_the_suggested_queries_run_as_printed(local_stack: Settings, ingest_job: IngestJob) -> None:
    flowlake = str(Path(sys.executable).parent / "flowlake")
    for title, command in next_queries(local_stack):
        args = shlex.split(command)
        assert args[0] == "flowlake"
        ran = subprocess.run([flowlake, *args[1:]], capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, f"{title}: {command}\n{ran.stdout}\n{ran.stderr}"


def test_every_sql_example_of_the_readme_runs_as_an_analyst(local_stack: Settings, ingest_job: IngestJob) -> None:
    """The README's SQL blocks are for SQL users: each statement runs as the analyst, on the views the demo
    creates (the time-travel example with a real snapshot id for its placeholder)."""
    from flink_jobs.common import split_statements
    from flowlake.clients.trino import query
    from flowlake.config import REPO_ROOT
    from flowlake.generate import generate
    from flowlake.views import create_views

    from .conftest import wait_until

    settings, job = local_stack, ingest_job
    create_views(settings)

    def newest_snapshot() -> list[list[object]]:
        return query(settings, 'SELECT snapshot_id FROM lakehouse.silver."orders$snapshots" '
                               "ORDER BY committed_at DESC LIMIT 1")[1]

    if not newest_snapshot():
        generate(settings, 100, None, None, topic=job.topic, seed=4711, clock=job.clock)
        wait_until(newest_snapshot, timeout=120, interval=2, what="a snapshot of silver.orders")
    [[snapshot_id]] = newest_snapshot()
    blocks = re.findall(r"```sql\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)
    statements = [s for block in blocks for s in split_statements(block)]
    assert len(statements) >= 3
    for statement in statements:
        query(settings, statement.replace("1234567890123456789", str(snapshot_id)), user="analyst")

"""Every kind of user-facing failure reaches the CLI as one FlowlakeError: a one-line message that names
the fix, exit status 1, no traceback. Each case runs the real `flowlake` entry point in a process of its
own, on a copy of the code whose rules or policy file is broken as a user's edit would break it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowlake.config import REPO_ROOT

PACKAGES = ("flowlake", "udfs", "iceberg", "flink_jobs", "sql")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def flowlake(root: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, list[str]]:
    """Exit status and the lines of standard error of `flowlake ARGS` run from the code in `root`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWLAKE_")}
    environment.update(PYTHONPATH=str(root), NO_COLOR="1", **(env or {}))
    done = subprocess.run([sys.executable, "-c", "from flowlake.cli import run; run()", *args], cwd=root,
                          env=environment, input=stdin, capture_output=True, text=True, timeout=120)
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def assert_one_line(result: tuple[int, list[str]], *expected: str) -> None:
    status, lines = result
    assert status == 1, lines
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, "\n".join(lines)
    for text in expected:
        assert text in errors[0], errors[0]


Write = Callable[[str, str], None]


@pytest.fixture
def broken(checkout: Path) -> Iterator[Write]:
    """Write a file of the copy; restored afterwards."""
    saved: dict[Path, str] = {}

    def write(relative: str, text: str) -> None:
        path = checkout / relative
        saved.setdefault(path, path.read_text())
        path.write_text(text)

    yield write
    for path, text in saved.items():
        path.write_text(text)


def test_a_setting_flowlake_cannot_use(checkout: Path) -> None:
    assert_one_line(flowlake(checkout, "status", env={"FLOWLAKE_KAFKA_PORT": "ninety-ninety-two"}),
                    "FLOWLAKE_KAFKA_PORT", "valid value")


def test_a_rules_file_that_is_not_toml(checkout: Path, broken: Write) -> None:
    rules = "udfs/rules/events.toml"
    broken(rules, (checkout / rules).read_text().replace("[common", "[common\n", 1))
    assert_one_line(flowlake(checkout, "privacy", "erase", "--user", "U00001", "--yes"), "events.toml",
                    "not valid TOML", "git checkout")


def test_a_rules_file_with_an_unknown_pii_type(checkout: Path, broken: Write) -> None:
    rules = "udfs/rules/events.toml"
    text = (checkout / rules).read_text()
    assert 'pii = "EMAIL_ADDRESS"' in text
    broken(rules, text.replace('pii = "EMAIL_ADDRESS"', 'pii = "E_MAIL"', 1))
    assert_one_line(flowlake(checkout, "privacy", "erase", "--user", "U00001", "--yes"), "events.toml", "E_MAIL")


def test_a_maintenance_file_that_is_not_toml(checkout: Path, broken: Write) -> None:
    broken("iceberg/maintenance.toml", "[default\nmin_input_files = 5\n")
    assert_one_line(flowlake(checkout, "maintain", "--table", "bronze.events"), "maintenance.toml", "not valid TOML")


def test_a_maintenance_policy_with_an_unknown_key(checkout: Path, broken: Write) -> None:
    broken("iceberg/maintenance.toml", "[default]\nmin_input_fils = 5\n")
    assert_one_line(flowlake(checkout, "maintain", "--table", "bronze.events"), "min_input_fils", "known:")


def test_hashing_without_a_key(checkout: Path) -> None:
    assert_one_line(flowlake(checkout, "pii", "scan", "--mask", "hash", stdin="mail anna@example.com\n"),
                    "FLOWLAKE_PII_HASH_KEY", "openssl rand")


def test_a_service_that_is_not_there(checkout: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert_one_line(flowlake(checkout, "query", "SELECT 1", env={"FLOWLAKE_TRINO_PORT": str(port),
                                                                 "FLOWLAKE_TRINO_HTTPS_PORT": str(port)}),
                    "not reachable", "flowlake up")

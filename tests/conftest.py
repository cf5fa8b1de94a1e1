"""Keeps a developer's own FLOWLAKE_* settings out of the tests."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Unit tests first (fast feedback); then the integration tests; the fault tests after them: they kill
    # the stack's processes (a JobManager takes every running job with it) and add data to the shared
    # tables that tests counting "everything so far" must not see; the lifecycle test last: it stops the
    # stack, after every job the session ran (so it also finds what any of them left behind).
    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("integration") is None:
            return 0
        if item.get_closest_marker("stack_lifecycle"):
            return 3
        return 2 if item.get_closest_marker("faults") else 1

    items.sort(key=rank)


@pytest.fixture(autouse=True, scope="session")
def _no_user_settings() -> None:
    for key in [k for k in os.environ if k.startswith("FLOWLAKE_")]:
        del os.environ[key]


def pytest_unconfigure(config: pytest.Config) -> None:
    # After pytest's own summary, whose assertion diffs can fill a CI log's tail: the names of what failed.
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    reports = [r for kind in ("failed", "error") for r in (reporter.stats.get(kind, []) if reporter else [])]
    failed = [r.nodeid if r.when == "call" else f"{r.nodeid} ({r.when})" for r in reports
              if isinstance(r, pytest.TestReport)]
    if failed:
        print("\nfailed:\n" + "\n".join(f"  {name}" for name in failed))

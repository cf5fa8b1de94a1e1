"""Keeps a developer's own FLOWLAKE_* settings out of the tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_user_settings() -> None:
    for key in [k for k in os.environ if k.startswith("FLOWLAKE_")]:
        del os.environ[key]

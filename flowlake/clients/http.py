"""The one HTTP probe the health checks share."""

from __future__ import annotations

from typing import Any

import requests


def http_ok(url: str, timeout: float = 2.0, **options: Any) -> requests.Response | None:
    try:
        response = requests.get(url, timeout=timeout, **options)
    except requests.RequestException:
        return None
    return response if response.ok else None

"""SQL on Trino (the `trino` DB-API client)."""

from __future__ import annotations

from typing import Any

import trino
from trino.exceptions import TrinoQueryError

from flowlake.config import Settings
from flowlake.errors import FlowlakeError, ServiceUnavailable
from flowlake.services import http_ok


def connect(settings: Settings, user: str = "flowlake") -> Any:
    if http_ok(f"{settings.trino_url}/v1/info") is None:
        raise ServiceUnavailable(f"Trino not reachable at {settings.trino_url}: run `flowlake up`")
    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        host=settings.host, port=settings.trino_port, user=user, catalog=settings.catalog_name, schema="bronze")


def query(settings: Settings, sql: str, user: str = "flowlake") -> tuple[list[str], list[list[Any]]]:
    """Run one statement; returns the column names and all rows."""
    conn = connect(settings, user)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description or []]
        return columns, rows
    except TrinoQueryError as exc:
        raise FlowlakeError(f"Trino rejected the query: {exc.message}") from exc
    finally:
        conn.close()

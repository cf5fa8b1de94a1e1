"""SQL on Trino (the `trino` DB-API client), and its results and errors as users read them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import requests
import trino
from trino.auth import BasicAuthentication
from trino.exceptions import HttpError, TrinoQueryError

from flink_jobs.common import sql_string
from flowlake.clients.http import http_ok
from flowlake.config import Settings
from flowlake.errors import FlowlakeError, ServiceUnavailable
from flowlake.keys import password_for
from flowlake.trino_security import certificate_file


def connect(settings: Settings, user: str | None = None, password: str | None = None) -> Any:
    """A DB-API connection over HTTPS as `user` (default: settings.trino_user) with the password
    the settings or the generated secrets file hold for them."""
    user = user or settings.trino_user
    if http_ok(f"{settings.trino_http_url}/v1/info") is None:
        raise ServiceUnavailable(f"Trino not reachable at {settings.trino_http_url}: run `flowlake up`")
    session = requests.Session()
    # Not the environment's CA bundle (REQUESTS_CA_BUNDLE would override `verify`): the local
    # Trino's own certificate.
    session.trust_env = False
    cert = certificate_file(settings)
    session.verify = str(cert) if cert.exists() else True
    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        host=settings.trino_host or settings.host, port=settings.trino_https_port, http_scheme="https", user=user,
        auth=BasicAuthentication(user, password if password is not None else password_for(settings, user)),
        http_session=session, catalog=settings.catalog_name, schema="silver")


def query(settings: Settings, sql: str, user: str | None = None,
          password: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Run one statement; returns the column names and all rows."""
    conn = connect(settings, user, password)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description or []]
        return columns, rows
    except TrinoQueryError as exc:
        raise QueryRejected(explain(exc, sql), exc.error_name) from exc
    except HttpError as exc:
        if "401" in str(exc):
            raise AuthenticationFailed(
                f"Trino rejected the password of user {conn.user!r} (HTTP 401): check FLOWLAKE_TRINO_PASSWORDS, or "
                "the generated passwords (`flowlake trino-users`)") from exc
        raise
    finally:
        conn.close()


class AuthenticationFailed(FlowlakeError):
    pass


class QueryRejected(FlowlakeError):
    def __init__(self, message: str, error_name: str | None) -> None:
        super().__init__(message)
        self.error_name = error_name


HINTS = {
    "TABLE_NOT_FOUND": "`flowlake tables` lists the lakehouse tables, `flowlake views` the views",
    "SCHEMA_NOT_FOUND": "the schemas are bronze, quarantine, silver, gold and analytics",
    "COLUMN_NOT_FOUND": "DESCRIBE <table> lists its columns",
    "PERMISSION_DENIED": "this user may not do that; the README's 'For SQL users' says who may read what",
}


def explain(error: TrinoQueryError, sql: str) -> str:
    """Trino's error with its name, the position it points at (the line, with a caret) and a hint."""
    text = f"Trino rejected the query ({error.error_name}): {error.message}"
    location = error.error_location
    if location:
        line, column = location
        lines = sql.splitlines() or [""]
        if 1 <= line <= len(lines):
            text += f"\n  at line {line}, column {column}:\n  {lines[line - 1]}\n  {' ' * (column - 1)}^"
    hint = HINTS.get(error.error_name or "")
    return f"{text}\n  ({hint})" if hint else text


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def as_csv(columns: list[str], rows: list[list[Any]]) -> str:
    """RFC 4180 CSV with a header row; binary values as hex, nested ones as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([json.dumps(_plain(v), default=str) if isinstance(v, (list, tuple, dict)) else
                         ("" if v is None else _plain(v)) for v in row])
    return buffer.getvalue()


def as_json_lines(columns: list[str], rows: list[list[Any]]) -> str:
    """One JSON object per row; timestamps and decimals as strings, binary values as hex."""
    return "".join(json.dumps(dict(zip(columns, (_plain(v) for v in row), strict=True)), default=str) + "\n"
                   for row in rows)


# --- SQL literals ---------------------------------------------------------------------------------

def sql_array(values: list[str]) -> str:
    return f"ARRAY[{', '.join(sql_string(v) for v in values)}]" if values else "CAST(ARRAY[] AS ARRAY(VARCHAR))"


def sql_time(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f} UTC'"


def sql_map(keys: list[str], values: list[str]) -> str:
    """A MAP(VARCHAR, BIGINT) literal: keys as strings, values as SQL expressions."""
    return f"MAP({sql_array(keys)}, ARRAY[{', '.join(values)}])" if keys else "CAST(MAP() AS MAP(VARCHAR, BIGINT))"

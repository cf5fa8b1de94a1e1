"""`flowlake views create`: the curated Trino views for SQL users (sql/trino/views/), in the
lakehouse catalog's `analytics` schema. Idempotent: CREATE OR REPLACE, in file order."""

from __future__ import annotations

from pathlib import Path

from flowlake.clients.trino import query
from flowlake.config import REPO_ROOT, Settings

VIEWS_DIR = REPO_ROOT / "sql" / "trino" / "views"
SCHEMA = "analytics"


def view_files() -> list[Path]:
    return sorted(VIEWS_DIR.glob("*.sql"))


def view_sql(path: Path, catalog: str) -> str:
    """A view's statement, for the configured catalog name (the files say `lakehouse`)."""
    return path.read_text().replace("lakehouse.", f"{catalog}.").strip().rstrip(";")


def create_views(settings: Settings) -> list[str]:
    """Create or replace every view; returns their names."""
    catalog = settings.catalog_name
    query(settings, f"CREATE SCHEMA IF NOT EXISTS {catalog}.{SCHEMA}")
    names = []
    for path in view_files():
        query(settings, view_sql(path, catalog))
        names.append(path.stem.split("_", 1)[1])
    return names


def ensure_views(settings: Settings) -> list[str]:
    """Every view, created when one is missing (a fresh catalog: what the README's analyst queries read);
    returns the names created, none when all were there."""
    existing = {name for name, _ in list_views(settings)}
    if {path.stem.split("_", 1)[1] for path in view_files()} <= existing:
        return []
    return create_views(settings)


def list_views(settings: Settings) -> list[tuple[str, str]]:
    """(view, comment) of the analytics schema."""
    rows = query(settings, "SELECT table_name, comment FROM system.metadata.table_comments "
                           f"WHERE catalog_name = '{settings.catalog_name}' AND schema_name = '{SCHEMA}' "
                           "ORDER BY table_name")[1]
    return [(name, comment or "") for name, comment in rows]

"""The Trino SQL files: views named after their files, described, never exposing raw payloads, reading
only tables the registry has."""

from __future__ import annotations

import re

from flowlake.views import SCHEMA, view_files, view_sql


def test_each_view_file_defines_the_view_it_is_named_after() -> None:
    files = view_files()
    assert len(files) >= 5
    for path in files:
        sql = view_sql(path, "lakehouse")
        name = path.stem.split("_", 1)[1]
        assert sql.startswith("--") or sql.startswith("CREATE")
        assert f"CREATE OR REPLACE VIEW lakehouse.{SCHEMA}.{name}\n" in sql, path.name
        assert re.search(r"^COMMENT '[^']+'$", sql, flags=re.M), f"{path.name}: no COMMENT"
        assert "SECURITY DEFINER" in sql  # analysts read views, not the tables under them


def test_no_view_selects_raw_payloads_or_keys() -> None:
    for path in view_files():
        body = view_sql(path, "lakehouse").split(" AS\n", 1)[1]
        assert not re.search(r"\b(payload|event_key|headers)\b", body), path.name


def test_views_follow_the_configured_catalog_name() -> None:
    sql = view_sql(view_files()[0], "shop")
    assert "lakehouse." not in sql and "shop.analytics." in sql


def test_the_trino_sql_reads_only_tables_of_the_registry_and_views() -> None:
    """A table renamed or dropped in iceberg/registry.py cannot leave a view or an example reading it."""
    from flowlake.config import REPO_ROOT
    from iceberg.registry import TABLES

    known = {t.identifier for t in TABLES} | {f"{SCHEMA}.{path.stem.split('_', 1)[1]}" for path in view_files()}
    files = sorted((REPO_ROOT / "sql" / "trino").rglob("*.sql"))
    read = {name for path in files for name in re.findall(r"lakehouse\.(\w+\.\w+)", path.read_text())}
    assert len(read) > 5 and read <= known, read - known

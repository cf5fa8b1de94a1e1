"""`flowlake sample`: stratified and class-balanced samples of a lakehouse table, computed in Trino close
to the data (sql/trino/sample.sql) at one snapshot, repeatable for a seed: within each stratum the rows
are ranked by a hash of their content and the seed, so the same seed picks the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flink_jobs.common import split_statements
from flowlake.config import REPO_ROOT, Settings
from flowlake.errors import FlowlakeError
from iceberg import registry

SAMPLE_SQL = REPO_ROOT / "sql" / "trino" / "sample.sql"
HASHED_TYPES = ("string", "int", "long", "double", "boolean", "timestamptz", "binary", "decimal")


@dataclass(frozen=True)
class Stratum:
    values: tuple[Any, ...]
    rows: int
    taken: int


def sample_sql(table: registry.Table, by: list[str], catalog: str, snapshot: int | None, seed: int,
               fraction: float | None = None, per_stratum: int | None = None, balance: bool = False,
               where: str = "") -> str:
    """The sampling query (pure: the unit tests read it)."""
    columns = table.column_names()
    unknown = [c for c in by if c not in columns]
    if unknown or not by:
        raise FlowlakeError(f"--by {','.join(by)}: {table.identifier} has columns {', '.join(columns)}")
    if (fraction is None) == (per_stratum is None):
        raise FlowlakeError("give one of --fraction F (0 < F <= 1) and --per-stratum N")
    if fraction is not None and not 0 < fraction <= 1:
        raise FlowlakeError(f"--fraction {fraction}: must be above 0 and at most 1")
    if per_stratum is not None and per_stratum < 1:
        raise FlowlakeError(f"--per-stratum {per_stratum}: must be at least 1")
    row_text = " || '|' || ".join(  # nested columns (lists, maps) left out of the hash
        f'coalesce(to_hex("{name}"), \'~\')' if kind == "binary" else f'coalesce(CAST("{name}" AS varchar), \'~\')'
        for name, kind, _, _ in table.columns if kind.split("(")[0] in HASHED_TYPES)
    take = (f"CAST(ceil(stratum_rows * {fraction!r}) AS bigint)" if fraction is not None
            else f"least({per_stratum}, stratum_rows)")
    source = f"{catalog}.{table.identifier}" + (f" FOR VERSION AS OF {snapshot}" if snapshot is not None else "")
    values = {"columns": ", ".join(f'"{c}"' for c in columns), "strata": ", ".join(f'"{c}"' for c in by),
              "seed": f"'{int(seed)}|'", "row_text": row_text, "source": source, "where": where or "true",
              "take": take, "stratum_take": "min(own_take) OVER ()" if balance else "own_take"}
    (template,) = split_statements(SAMPLE_SQL.read_text())
    for key, value in values.items():
        template = template.replace("${" + key + "}", value)
    return template


def strata(by: list[str], columns: list[str], rows: list[list[Any]]) -> list[Stratum]:
    """Each stratum's size and how many rows were taken from it, from the sample's rows."""
    found: dict[tuple[Any, ...], Stratum] = {}
    for row in rows:
        record = dict(zip([*columns, "stratum_rows", "stratum_take"], row, strict=True))
        key = tuple(record[c] for c in by)
        found.setdefault(key, Stratum(key, int(record["stratum_rows"]), int(record["stratum_take"])))
    return list(found.values())


def sample(settings: Settings, identifier: str, by: list[str], out: Path, seed: int, fraction: float | None = None,
           per_stratum: int | None = None, balance: bool = False, where: str = "",
           user: str | None = None) -> list[Stratum]:
    """Write the sample to `out` (.parquet or .csv) and return its strata."""
    from flowlake.clients.trino import as_csv, query
    from flowlake.privacy_export import _arrow_value, arrow_schema, plain
    from flowlake.quality import current_snapshots

    if out.suffix not in (".parquet", ".csv"):
        raise FlowlakeError(f"--out {out}: write .parquet or .csv")
    known = {t.identifier: t for t in registry.TABLES}
    if identifier not in known:
        raise FlowlakeError(f"unknown table {identifier}: choose from {', '.join(known)}")
    table = known[identifier]
    snapshot = current_snapshots(settings, [identifier])[identifier]
    sql = sample_sql(table, by, settings.catalog_name, snapshot, seed, fraction, per_stratum, balance, where)
    columns = table.column_names()
    rows = query(settings, sql, user=user)[1]
    out.parent.mkdir(parents=True, exist_ok=True)
    picked = [row[:len(columns)] for row in rows]
    if out.suffix == ".csv":
        out.write_text(as_csv(columns, picked))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        records = [{c: _arrow_value(plain(c, v)) for c, v in zip(columns, row, strict=True)} for row in picked]
        pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema(table)), out)
    return strata(by, columns, rows)

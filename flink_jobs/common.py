"""What every flowlake job needs: its arguments, its SQL files and the catalog. Runs in the job
environment (PyFlink), so it imports nothing from the control environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from string import Template

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "flink"


class _SqlTemplate(Template):
    # Only ${name} is a placeholder, so JSON paths ('$.event_id') keep their dollar signs.
    pattern = r"\$(?:(?P<escaped>\$(?=\{))|\{(?P<braced>[_a-z][_a-z0-9]*)\}|(?P<named>(?!))|(?P<invalid>(?!)))"


def load_sql(name: str, **values: object) -> str:
    """A statement from sql/flink/<name>.sql; a placeholder without a value raises KeyError."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    return _SqlTemplate(text).substitute({k: str(v) for k, v in values.items()}).strip().rstrip(";")


def common_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--catalog-name", default="lakehouse")
    parser.add_argument("--catalog-jdbc-url", required=True)
    parser.add_argument("--catalog-user", default="flowlake")
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--job-name", default=None)
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    # Flink passes options of its own in the same argument list: keep what is ours.
    args, _unknown = parser.parse_known_args()
    return args


def catalog_sql(args: argparse.Namespace) -> str:
    # The password comes from the environment, never from the command line (visible in `ps`).
    return load_sql("create_catalog", catalog_name=args.catalog_name, jdbc_url=args.catalog_jdbc_url,
                    jdbc_user=args.catalog_user, jdbc_password=os.environ.get("FLOWLAKE_CATALOG_PASSWORD", "flowlake"),
                    warehouse=args.warehouse)


def split_statements(script: str) -> list[str]:
    """Statements of a SQL script: split at `;` that ends a line; `--` comment lines dropped."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]

"""The PromQL expressions of the dashboards and rules in deploy/, and the parts of each that must
return data on a running pipeline (tests/integration/test_observability.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from flowlake.config import REPO_ROOT

DASHBOARDS = sorted((REPO_ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((REPO_ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
_SET_OPERATOR = re.compile(r"\s+(and|or|unless)(\s+(on|ignoring)\s*\([^)]*\))?\s+")
_COMPARISON = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?-?[0-9.e+]+\s*$")


def dashboard_panels(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["panels"])


def dashboard_exprs() -> dict[str, str]:
    """'<dashboard> / <panel> / <refId>' -> expression."""
    return {f"{path.stem} / {panel['title']} / {target['refId']}": target["expr"]
            for path in DASHBOARDS for panel in dashboard_panels(path) for target in panel["targets"]}


def rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def _top_level_split(expr: str) -> list[str]:
    """Operands of the set operators (and, or, unless) outside any parentheses or braces."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        char = expr[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (match := _SET_OPERATOR.match(expr, i)):
            parts.append(expr[start:i])
            start = i = match.end()
            continue
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def series_parts(expr: str) -> list[str]:
    """What must return data for an alert to be able to fire: each operand of its set operators,
    without the threshold it is compared with; for absent(x), x."""
    expr = " ".join(expr.split())
    absent = re.fullmatch(r"absent\((.*)\)", expr)
    if absent:
        return series_parts(absent.group(1))
    return [_COMPARISON.sub("", part) for part in _top_level_split(expr)]

"""The Prometheus rules (deploy/prometheus/rules/) with Prometheus' own checker and unit-test runner,
promtool (Debian's prometheus package): synthetic series for which each alert fires and does not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from flowlake.config import REPO_ROOT

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool missing (Debian package prometheus): run `flowlake install`"
    return path


def alert_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def with_static_annotations(tests: dict[str, Any]) -> dict[str, Any]:
    """Each expected alert gets the rule's annotations that hold no template (description, runbook)."""
    rules = alert_rules()
    for test in tests["tests"]:
        for case in test.get("alert_rule_test", []):
            static = {k: v for k, v in rules[case["alertname"]].get("annotations", {}).items() if "{{" not in v}
            for alert in case["exp_alerts"]:
                alert["exp_annotations"] = {**static, **alert.get("exp_annotations", {})}
    return tests


def test_rules_pass_promtool_check() -> None:
    result = subprocess.run([promtool(), "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests(tmp_path: Path) -> None:
    tests = with_static_annotations(yaml.safe_load((PROMETHEUS / "tests" / "flowlake-rules.test.yml").read_text()))
    tests["rule_files"] = [str(path) for path in RULE_FILES]
    test_file = tmp_path / "rules.test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool(), "test", "rules", str(test_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_has_a_runbook() -> None:
    tests = yaml.safe_load((PROMETHEUS / "tests" / "flowlake-rules.test.yml").read_text())
    fired = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])
             if case["exp_alerts"]}
    quiet = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])
             if not case["exp_alerts"]}
    rules = alert_rules()
    assert fired == set(rules) and quiet == set(rules)
    for name, rule in rules.items():
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name


def test_the_runbooks_document_is_the_rules() -> None:
    from tests.deploy_tools import RUNBOOKS_FILE, runbooks

    assert RUNBOOKS_FILE.read_text() == runbooks()  # regenerate with `python -m tests.deploy_tools`
    for name in alert_rules():
        assert f"\n## {name}\n" in RUNBOOKS_FILE.read_text()


"""The Grafana dashboards and provisioning files in deploy/grafana, checked offline (the live check of
every expression is tests/integration/test_observability.py)."""

from __future__ import annotations

import json

import yaml

from flowlake.config import REPO_ROOT
from tests.promql import DASHBOARDS, dashboard_exprs, dashboard_panels, rules, series_parts

GRAFANA = REPO_ROOT / "deploy" / "grafana"


def test_the_four_dashboards_exist_with_unique_ids_and_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert {p.stem for p in DASHBOARDS} == {"pipeline-overview", "checkpoints", "data-quality", "iceberg"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    for path in DASHBOARDS:
        panels = dashboard_panels(path)
        assert len({p["id"] for p in panels}) == len(panels), path.name
        for panel in panels:
            assert panel["datasource"]["uid"] == uid and panel["targets"], (path.name, panel["title"])
            assert panel["description"], (path.name, panel["title"])
            assert all(t["datasource"]["uid"] == uid for t in panel["targets"])


def test_dashboards_use_no_template_variables() -> None:
    # Every expression runs as is against Prometheus in the integration test.
    assert not [name for name, expr in dashboard_exprs().items() if "$" in expr]


def test_every_recorded_metric_a_dashboard_uses_is_recorded() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used = {name for expr in dashboard_exprs().values() for name in _recorded_names(expr)}
    assert used <= recorded, used - recorded


def _recorded_names(expr: str) -> set[str]:
    import re

    return set(re.findall(r"flowlake:[a-z_:0-9]+", expr))


def test_series_parts_strip_thresholds_and_split_set_operators() -> None:
    assert series_parts("max by (job) (x) > 240000") == ["max by (job) (x)"]
    assert series_parts("increase(a[10m]) > 0 and on (job_id) b > 600000") == ["increase(a[10m])", "b"]
    assert series_parts("absent(s == 1)") == ["s"]
    assert series_parts('sum by (g) (rate(c{t=~"a and b"}[5m])) / (sum(x) > 0)') == [
        'sum by (g) (rate(c{t=~"a and b"}[5m])) / (sum(x) > 0)']


def test_provisioning_points_grafana_at_the_dashboards() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "flowlake.yml").read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"].endswith("flowlake")

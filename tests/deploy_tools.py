"""Offline validators for the deployment files, from the registries we reach, cached outside the
checkout: compose-spec's own loader and BuildKit's Dockerfile parser and linter (Go module proxy;
deploy/tools/deploy-check) for docker-compose.yml and deploy/docker; kustomize (Go module
proxy) for deploy/k8s; the Kubernetes API schemas (kubernetes-validate, PyPI), the Flink Kubernetes
Operator's CRDs (its API jar, Maven Central, `flowlake install`) and the Prometheus Operator's CRDs
(its Go module) for the resources kustomize builds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from flowlake.config import REPO_ROOT, load_settings

DEPLOY_CHECK_SOURCE = REPO_ROOT / "deploy" / "tools" / "deploy-check"


KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
KUBERNETES_VERSION = "1.31.0"  # the oldest Kubernetes the Flink operator and flowlake's manifests target


def _go_env(cache: Path) -> dict[str, str]:
    return {**os.environ, "GOPATH": str(cache / "go"), "GOCACHE": str(cache / "go-build"), "GOFLAGS": "-modcacherw"}


def deploy_check_tool() -> Path:
    cache = load_settings().cache_dir
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(DEPLOY_CHECK_SOURCE.iterdir()))).hexdigest()[:12]
    binary = cache / "tools" / f"deploy-check-{digest}"
    if not binary.exists():
        go = shutil.which("go")
        assert go, "Go is needed to build deploy/tools/deploy-check (compose-spec's loader, BuildKit's parser)"
        subprocess.run([go, "build", "-o", str(binary), "."], cwd=DEPLOY_CHECK_SOURCE, env=_go_env(cache),
                       check=True, capture_output=True, timeout=900)
    return binary


def go_install(module: str) -> Path:
    """`go install module@version` into the cache; the binary's path."""
    cache = load_settings().cache_dir
    path, _, version = module.partition("@")
    target = cache / "tools" / f"{path.replace('/', '_')}-{version}"
    binary = target / path.rstrip("/").split("/")[-1 if not re.fullmatch(r"v\d+", path.split("/")[-1]) else -2]
    if not binary.exists():
        go = shutil.which("go")
        assert go, f"Go is needed to install {module}"
        subprocess.run([go, "install", module], env={**_go_env(cache), "GOBIN": str(target), "CGO_ENABLED": "0"},
                       check=True, capture_output=True, timeout=900)
    return binary


def go_module_dir(module: str) -> Path:
    """The source of a Go module (downloaded through the module proxy into the cache)."""
    cache = load_settings().cache_dir
    result = subprocess.run([shutil.which("go") or "go", "mod", "download", "-json", module], env=_go_env(cache),
                            check=True, capture_output=True, text=True, timeout=600)
    return Path(json.loads(result.stdout)["Dir"])


def kustomize_build(overlay: Path) -> list[dict[str, Any]]:
    import yaml

    result = subprocess.run([str(go_install(KUSTOMIZE)), "build", str(overlay)], capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kustomize build {overlay} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.load_all(result.stdout, Loader=_loader()) if doc]


def _loader() -> Any:
    """YAML's safe loader, reading a bare `=` (YAML 1.1's "value" tag: an AlertmanagerConfig's matchType) as text."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    return Loader


def _strict(schema: Any) -> Any:
    """An OpenAPI v3 schema of a CRD as JSON Schema that refuses unknown fields (kubectl --validate=strict)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _crd_schemas(crd: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    schemas = {}
    for version in crd["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        # The API server adds these to every resource; generated CRDs leave them out.
        schema["properties"] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                "metadata": {"type": "object"}, **schema.get("properties", {})}
        schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> schema of the Flink operator's and the Prometheus operator's resources."""
    import zipfile

    import yaml

    from flowlake.stack.runtime import Runtime

    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    from flowlake.stack.install import ensure_extra

    runtime = Runtime(load_settings())
    ensure_extra(runtime, "k8s")  # on first use: the Flink operator's API jar
    jar = next(runtime.jar_dir("k8s-schemas").glob("flink-kubernetes-operator-api-*.jar"), None)
    assert jar is not None, "the Flink operator's API jar is missing: run `flowlake install`"
    with zipfile.ZipFile(jar) as archive:
        for name in archive.namelist():
            if name.startswith("META-INF/fabric8/") and name.endswith("-v1.yml"):
                schemas |= _crd_schemas(yaml.safe_load(archive.read(name)))
    crds = go_module_dir(PROMETHEUS_OPERATOR) / "example" / "prometheus-operator-crd"
    for name in ("podmonitors", "servicemonitors", "prometheusrules", "alertmanagerconfigs"):
        schemas |= _crd_schemas(yaml.load((crds / f"monitoring.coreos.com_{name}.yaml").read_text(), Loader=_loader()))
    return schemas


def validate_resource(doc: dict[str, Any], schemas: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Against the Kubernetes API schema (built-in kinds, strict) or the operator's CRD schema."""
    import jsonschema
    import kubernetes_validate

    key = (doc["apiVersion"], doc["kind"])
    if key in schemas:
        # Not jsonschema.validate: it first checks the schema's regular expressions as ECMA ones, and
        # the Prometheus operator's use Go's (?i) flag.
        jsonschema.Draft202012Validator(schemas[key]).validate(doc)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def compose_config(compose_file: Path, env: dict[str, str], profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    """The resolved project, as `docker compose config --format json` prints it."""
    args = [str(deploy_check_tool()), "compose"]
    for profile in profiles:
        args += ["--profile", profile]
    result = subprocess.run([*args, str(compose_file)], capture_output=True, text=True, cwd=compose_file.parent,
                            env={"PATH": os.environ.get("PATH", ""), **env}, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"compose-spec's loader rejected {compose_file.name}: {result.stderr.strip()}")
    return dict(json.loads(result.stdout))


def dockerfile_stages(dockerfile: Path) -> list[dict[str, Any]]:
    """The stages of a Dockerfile as BuildKit parses it; a syntax error or lint finding fails."""
    result = subprocess.run([str(deploy_check_tool()), "dockerfile", str(dockerfile)], capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"BuildKit rejected {dockerfile.name}: {result.stderr.strip()}")
    return list(json.loads(result.stdout))


PROMETHEUS_RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"
PROMETHEUS_RULE_FILE = REPO_ROOT / "deploy" / "k8s" / "base" / "prometheus-rules.yaml"


def prometheus_rule() -> dict[str, Any]:
    """The PrometheusRule resource holding every group of deploy/prometheus/rules, unchanged."""
    import yaml

    groups = [group for path in sorted(PROMETHEUS_RULES.glob("*.yml"))
              for group in yaml.safe_load(path.read_text())["groups"]]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "flowlake", "labels": {"app.kubernetes.io/name": "flowlake"}},
            "spec": {"groups": groups}}


ALERTMANAGER_CONFIG_FILE = REPO_ROOT / "deploy" / "k8s" / "base" / "alertmanager-config.yaml"
RUNBOOKS_FILE = REPO_ROOT / "docs" / "runbooks.md"


def runbooks() -> str:
    """docs/runbooks.md: every alert of deploy/prometheus/rules with its severity, expression, wait, meaning and
    runbook, as the rules say them."""
    import yaml

    parts = ["# Alert runbooks\n\nGenerated from `deploy/prometheus/rules/flowlake-alerts.yml` by `python -m "
             "tests.deploy_tools` (a unit test fails when they differ): what each alert means and what to do. "
             "Routing, inhibition and receivers: README, For SREs.\n"]
    for path in sorted(PROMETHEUS_RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                notes = rule["annotations"]
                expr = " ".join(rule["expr"].split())
                parts.append(f"\n## {rule['alert']}\n\n**{rule['labels']['severity']}**, after "
                             f"{rule.get('for', '0s')}: `{expr}`\n\n{notes['description']}\n\n"
                             f"**Runbook.** {notes['runbook']}\n")
    return "".join(parts)


def alertmanager_config_resource() -> dict[str, Any]:
    from flowlake.alerts import k8s_alertmanager_config
    from flowlake.config import Settings

    return k8s_alertmanager_config(Settings.model_construct())  # the defaults, whatever the environment says


if __name__ == "__main__":  # python -m tests.deploy_tools: regenerate the generated files of deploy/k8s/base
    import yaml

    header = ("# Generated from deploy/prometheus/rules/*.yml by `python -m tests.deploy_tools`; the same recording\n"
              "# and alert rules as the local Prometheus. tests/unit/test_deployments.py fails when they differ.\n")
    PROMETHEUS_RULE_FILE.write_text(header + yaml.safe_dump(prometheus_rule(), sort_keys=False, width=110))
    header = ("# Generated from flowlake/alerts.py by `python -m tests.deploy_tools`: the local Alertmanager's routes\n"
              "# and inhibitions. Create the Secret flowlake-alerting (key webhook-url) first; see README, For SREs.\n")
    ALERTMANAGER_CONFIG_FILE.write_text(header + yaml.safe_dump(alertmanager_config_resource(), sort_keys=False,
                                                                width=110))
    RUNBOOKS_FILE.write_text(runbooks())

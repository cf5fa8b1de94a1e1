"""The deployment artefacts (Dockerfiles, docker-compose.yml, deploy/k8s), validated offline by real
tools, and checked against the local stack's own pins and configuration so that they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flink_jobs.registry import INGEST, JOBS, SESSIONS
from flowlake.config import REPO_ROOT, Settings
from flowlake.stack.runtime import TRINO_VERSION, pom_property
from flowlake.stack.services import LOCAL_CONFIGS, PROMETHEUS_CONFIG, render
from tests.deploy_tools import compose_config, dockerfile_stages

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKER = REPO_ROOT / "deploy" / "docker"
SECRETS = {"FLOWLAKE_CATALOG_PASSWORD": "catalog-pw", "FLOWLAKE_S3_SECRET_KEY": "s3-secret-key",
           "FLOWLAKE_PII_HASH_KEY": "0" * 64}


def _requirement(name: str) -> str:
    text = (REPO_ROOT / "deploy" / "requirements" / "job.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.MULTILINE)
    assert match, name
    return match.group(1)


def _dockerfile_args(name: str) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", (DOCKER / name).read_text(), re.MULTILINE))


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = ";".join(map(str, value)) if isinstance(value, list) else str(value)
    return flat


def local_flink_config(tmp_path: Path) -> dict[str, str]:
    """deploy/local/flink/config.yaml as the local stack renders it with the default settings, flattened."""
    s = Settings(data_dir=tmp_path)
    render(LOCAL_CONFIGS / "flink" / "config.yaml", tmp_path / "config.yaml", flink_version="1.20", host=s.host,
           jobmanager_memory=s.flink_jobmanager_memory, taskmanager_memory=s.flink_taskmanager_memory,
           slots=s.flink_taskmanager_slots, rest_port=s.flink_rest_port, rpc_port=s.flink_rpc_port,
           parallelism=s.flink_parallelism, checkpoint_interval=f"{s.checkpoint_interval_seconds}s",
           checkpoint_dir="file:///c", savepoint_dir="file:///s", job_python="/py", metrics_ports=s.flink_metrics_ports,
           java_home="/jdk", log_dir="/l", pid_dir="/p", tmp_dir="/t", flat_config="")
    return _flatten(yaml.safe_load((tmp_path / "config.yaml").read_text()))


# Keys that name this machine's addresses, ports, paths and processes: each deployment has its own.
PER_DEPLOYMENT = ("jobmanager.rpc.", "jobmanager.bind-host", "taskmanager.bind-host", "taskmanager.host", "rest.",
                  "env.", "io.tmp.dirs", "web.", "state.checkpoints.dir", "state.savepoints.dir", "python.executable",
                  "python.client.executable", "metrics.reporter.prom.port")


def shared_flink_keys(local: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in local.items() if not k.startswith(PER_DEPLOYMENT)}


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_config(COMPOSE_FILE, SECRETS, profiles=("pulsar", "cli", "jobs"))


# --- docker-compose.yml ----------------------------------------------------------------------------

def test_compose_loads_with_the_compose_spec_loader(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "kafka", "pulsar", "minio", "flowlake-init", "jobmanager",
                                        "taskmanager", "trino", "exporter", "maintenance", "prometheus", "alertmanager",
                                        "alert-receiver", "grafana", "flowlake", "jobs"}


def test_compose_refuses_to_start_without_the_secrets() -> None:
    with pytest.raises(AssertionError, match="FLOWLAKE_PII_HASH_KEY"):
        compose_config(COMPOSE_FILE, {k: v for k, v in SECRETS.items() if k != "FLOWLAKE_PII_HASH_KEY"})


def test_every_file_the_compose_file_references_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert Path(build["context"]) == REPO_ROOT, name
            assert (REPO_ROOT / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                source = Path(volume["source"])
                assert source.exists() and source.is_relative_to(REPO_ROOT), (name, source)
                assert volume.get("read_only"), f"{name} mounts {source} writable"
            else:
                assert volume["source"] in compose["volumes"], (name, volume)


def test_every_image_is_pinned_and_every_dependency_is_health_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    host_ports = []
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned image {image}"
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if how["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck", {}).get("test"), f"{dependency} has no health check"
        host_ports += [port["published"] for port in service.get("ports", [])]
    assert len(host_ports) == len(set(host_ports))
    # Services that others wait for are health-checked; one-shot ones must succeed first.
    assert services["trino"]["depends_on"]["flowlake-init"]["condition"] == "service_completed_successfully"


def test_compose_runs_the_same_versions_as_the_local_stack(compose: dict[str, Any]) -> None:
    images = {name: service["image"] for name, service in compose["services"].items()}
    flink = _requirement("apache-flink")
    assert pom_property("flink.version") == flink == _dockerfile_args("Dockerfile")["FLINK_VERSION"]
    assert images["jobmanager"] == images["taskmanager"] == f"flowlake/flink:{flink}"
    assert images["kafka"] == f"apache/kafka:{pom_property('kafka.version')}"
    assert images["pulsar"] == f"apachepulsar/pulsar:{pom_property('pulsar.version')}"
    assert pom_property("trino.version") == TRINO_VERSION == _dockerfile_args("trino.Dockerfile")["TRINO_VERSION"]
    assert images["trino"] == f"flowlake/trino:{TRINO_VERSION}"
    minio = pom_property("minio.version")
    assert _dockerfile_args("minio.Dockerfile")["MINIO_VERSION"] == minio
    assert images["minio"] == f"flowlake/minio:{minio}"
    assert images["prometheus"] == f"prom/prometheus:v{debian_version('prometheus')}"
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert f"UV_VERSION := {_dockerfile_args('Dockerfile')['UV_VERSION']}\n" in makefile


@pytest.mark.parametrize("name", ["Dockerfile", "trino.Dockerfile", "minio.Dockerfile"])
def test_the_dockerfiles_parse_and_pass_buildkits_lint(name: str) -> None:
    stages = dockerfile_stages(DOCKER / name)
    assert stages and all(stage["base"] for stage in stages)


def test_buildkit_rejects_a_broken_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim as base\nCOPY --chmodd=600 a b\n")
    with pytest.raises(AssertionError, match="chmodd"):
        dockerfile_stages(tmp_path / "Dockerfile")


def test_the_image_installs_from_the_local_stacks_pins() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "-P flink-lib dependency:copy-dependencies" in dockerfile and "COPY deploy/maven/pom.xml" in dockerfile
    assert "-r /opt/flowlake/deploy/requirements/job.txt" in dockerfile
    # the source table's event-time column calls flowlake's Java function: built into Flink's lib/
    assert "COPY deploy/flink-functions/src/ /build/src/" in dockerfile
    assert "COPY --from=functions /flowlake-flink-functions.jar /opt/flink/lib/" in dockerfile
    assert "-r /opt/flowlake/deploy/requirements/control.txt" in dockerfile
    for line in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.MULTILINE):
        assert (REPO_ROOT / line).exists(), line


def test_compose_flink_has_the_local_flink_configuration(compose: dict[str, Any], tmp_path: Path) -> None:
    shared = shared_flink_keys(local_flink_config(tmp_path))
    assert "execution.checkpointing.mode" in shared and "metrics.reporter.prom.factory.class" in shared
    for name in ("jobmanager", "taskmanager"):
        properties = _properties(compose["services"][name]["environment"]["FLINK_PROPERTIES"])
        assert {k: properties.get(k) for k in shared} == shared, name
        assert properties["state.checkpoints.dir"].startswith("s3://")
        assert properties["python.executable"] == "/opt/flowlake/job-venv/bin/python"
        assert properties["s3.secret-key"] == SECRETS["FLOWLAKE_S3_SECRET_KEY"]  # interpolated, not in the file


def test_compose_kafka_has_the_local_broker_settings(compose: dict[str, Any]) -> None:
    local = dict(line.split("=", 1) for line in (LOCAL_CONFIGS / "kafka" / "server.properties").read_text().splitlines()
                 if line and not line.startswith("#") and "${" not in line)
    listeners = {"listener.security.protocol.map"}  # the compose broker has a listener for the Docker host too
    environment = compose["services"]["kafka"]["environment"]
    for key, value in local.items():
        if key not in listeners:
            assert environment.get("KAFKA_" + key.upper().replace(".", "_")) == value, key


def test_compose_prometheus_config_is_the_local_template_rendered_for_compose(compose: dict[str, Any],
                                                                              tmp_path: Path) -> None:
    render(PROMETHEUS_CONFIG, tmp_path / "prometheus.yml", flink_targets='["jobmanager:9249", "taskmanager:9249"]',
           maintenance_targets='["maintenance:9256"]', exporter_targets='["exporter:9257"]',
           alertmanager_targets='["alertmanager:9093"]', rules_dir="/etc/prometheus/rules", evaluation_interval="15s")
    assert (DOCKER / "prometheus.yml").read_text() == (tmp_path / "prometheus.yml").read_text()
    volumes = compose["services"]["prometheus"]["volumes"]
    mounts = {v["target"]: Path(v["source"]) for v in volumes if v["type"] == "bind"}
    assert mounts["/etc/prometheus/rules"] == REPO_ROOT / "deploy" / "prometheus" / "rules"
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets = {t for job in [*config["scrape_configs"], *config["alerting"]["alertmanagers"]]
               for static in job["static_configs"] for t in static["targets"]}
    assert {t.split(":")[0] for t in targets} <= set(compose["services"])
    assert "alertmanager:9093" in targets


def debian_version(package: str) -> str:
    """The upstream version of an installed Debian package (0.25.0 of 0.25.0-1+b4): the local stack's."""
    import subprocess

    found = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    assert found.returncode == 0, f"{package} is not installed: run `flowlake install`"
    return found.stdout.split(":")[-1].split("-")[0].split("+")[0]


def test_compose_alertmanager_reads_what_flowlake_init_writes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    alertmanager, init = services["alertmanager"], services["flowlake-init"]
    assert alertmanager["image"] == f"prom/alertmanager:v{debian_version('prometheus-alertmanager')}"
    mounted = {v["target"]: v["source"] for v in alertmanager["volumes"]}
    assert mounted["/etc/alertmanager"] == "alertmanager-etc"
    assert {v["target"]: v["source"] for v in init["volumes"]}["/etc/alertmanager"] == "alertmanager-etc"
    command = init["command"]
    assert command[command.index("--alertmanager-etc") + 1] == "/etc/alertmanager"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert services["alert-receiver"]["command"] == ["alerts", "serve"]
    settings = Settings(_env_file=None, **{k.removeprefix("FLOWLAKE_").lower(): v
                                           for k, v in init["environment"].items()
                                           if k.startswith(("FLOWLAKE_ALERT", "FLOWLAKE_SMTP"))})
    assert settings.alert_receiver_url == "http://alert-receiver:9258/alerts"
    assert settings.alertmanager_url == "http://alertmanager:9093"


def test_compose_grafana_uses_the_provisioned_dashboards(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in grafana["volumes"] if v["type"] == "bind"}
    assert mounts["/etc/grafana/provisioning"] == REPO_ROOT / "deploy" / "grafana" / "provisioning"
    provider = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/dashboards/flowlake.yml").read_text())
    assert mounts[provider["providers"][0]["options"]["path"]] == REPO_ROOT / "deploy" / "grafana" / "dashboards"
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"


def test_the_cli_containers_reach_every_service_by_name(compose: dict[str, Any]) -> None:
    environment = compose["services"]["flowlake-init"]["environment"]
    settings = Settings(**{k.removeprefix("FLOWLAKE_").lower(): v for k, v in environment.items()
                           if k.startswith("FLOWLAKE_")})
    names = set(compose["services"])
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.catalog_jdbc_url == "jdbc:postgresql://postgres:5432/iceberg_catalog"
    assert settings.flink_rest_url == "http://jobmanager:8081"
    assert settings.trino_url == "https://trino:8443" and settings.s3_endpoint_url == "http://minio:9000"
    for url in (settings.kafka_bootstrap, settings.catalog_jdbc_url, settings.flink_rest_url, settings.trino_url,
                settings.s3_endpoint_url, settings.prometheus_url):
        assert re.search(r"(?:^|//)([a-z][a-z-]*):\d+", url).group(1) in names, url  # type: ignore[union-attr]
    assert settings.warehouse_uri.startswith("s3://") and settings.checkpoints_uri.startswith("s3://")


# --- deploy/k8s --------------------------------------------------------------------------------------

OVERLAYS = REPO_ROOT / "deploy" / "k8s" / "overlays"
KINDS = {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "FlinkDeployment", "CronJob", "Deployment",
         "PodMonitor", "PrometheusRule", "AlertmanagerConfig"}
# Sized per deployment on Kubernetes: the operator takes them from resource.memory and job.parallelism.
K8S_SIZED = {"jobmanager.memory.process.size": ("jobManager", "resource", "memory"),
             "taskmanager.memory.process.size": ("taskManager", "resource", "memory"),
             "parallelism.default": ("job", "parallelism")}


@pytest.fixture(scope="module")
def k8s_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    from tests.deploy_tools import crd_schemas

    return crd_schemas()


@pytest.fixture(scope="module", params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    from tests.deploy_tools import kustomize_build

    return request.param, kustomize_build(OVERLAYS / request.param)


def _of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_each_overlay_builds_and_validates_against_the_api_and_crd_schemas(
        overlay: tuple[str, list[dict[str, Any]]], k8s_schemas: dict[tuple[str, str], dict[str, Any]]) -> None:
    from tests.deploy_tools import validate_resource

    name, docs = overlay
    assert {doc["kind"] for doc in docs} == KINDS
    assert {doc["metadata"]["namespace"] for doc in docs} == {"flowlake-dev" if name == "dev" else "flowlake"}
    for doc in docs:
        validate_resource(doc, k8s_schemas)


def test_the_validators_reject_what_a_cluster_would(k8s_schemas: dict[tuple[str, str], dict[str, Any]]) -> None:
    import jsonschema
    import kubernetes_validate

    from tests.deploy_tools import kustomize_build, validate_resource

    docs = kustomize_build(OVERLAYS / "dev")
    cronjob = _of_kind(docs, "CronJob")["flowlake-maintenance"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_resource({**cronjob, "spec": {**cronjob["spec"], "shedule": "7 * * * *"}}, k8s_schemas)
    ingest = _of_kind(docs, "FlinkDeployment")["flowlake-ingest"]
    for broken in ({**ingest["spec"], "flinkVersion": "v1_99"}, {**ingest["spec"], "jobManger": {"replicas": 1}},
                   {**ingest["spec"], "flinkConfiguration": {"parallelism.default": 2}}):
        with pytest.raises(jsonschema.ValidationError):
            validate_resource({**ingest, "spec": broken}, k8s_schemas)


def test_the_flink_deployments_carry_the_local_pins_and_configuration(
        overlay: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    name, docs = overlay
    local = local_flink_config(tmp_path)
    shared = {k: v for k, v in shared_flink_keys(local).items() if k not in K8S_SIZED}
    flink = _requirement("apache-flink")
    job_python = re.search(r"FLOWLAKE_JOB_PYTHON=(\S+)", (DOCKER / "Dockerfile").read_text()).group(1)  # type: ignore[union-attr]
    deployments = _of_kind(docs, "FlinkDeployment")
    streaming = [job.pipeline_name for job in JOBS.values() if job.streaming]
    assert set(deployments) == {*streaming, "flowlake-maintenance"}  # and a session cluster for the rest
    for deployment_name, deployment in deployments.items():
        spec = deployment["spec"]
        assert spec["image"].endswith(f"flink:{flink}") and spec["flinkVersion"] == "v" + "_".join(flink.split(".")[:2])
        config = spec["flinkConfiguration"]
        assert {k: config.get(k) for k in shared} == shared, deployment_name
        assert config["python.executable"] == config["python.client.executable"] == job_python
        for key in ("state.checkpoints.dir", "state.savepoints.dir", "high-availability.storageDir"):
            assert config[key].startswith("s3://") and config[key].endswith(deployment_name.removeprefix("flowlake-"))
        assert config["high-availability.type"] == "kubernetes"
        ports = {p["name"]: p["containerPort"] for p in spec["podTemplate"]["spec"]["containers"][0]["ports"]}
        assert ports["metrics"] == int(config["metrics.reporter.prom.port"])
        if name == "dev":  # sizes may grow in production; the development overlay keeps the local ones
            for key, path in K8S_SIZED.items():
                value: Any = spec
                for part in path:
                    value = value.get(part, {}) if isinstance(value, dict) else {}
                if value != {} and key != "parallelism.default":
                    assert str(value) == local[key], (deployment_name, key)
    for job in streaming:
        spec = deployments[job]["spec"]
        assert spec["job"]["jarURI"] == f"local:///opt/flink/opt/flink-python-{flink}.jar"
        assert spec["job"]["entryClass"] == "org.apache.flink.client.python.PythonDriver"
        assert spec["job"]["upgradeMode"] == "savepoint" and spec["job"]["state"] == "running"
    assert "job" not in deployments["flowlake-maintenance"]["spec"]  # a session cluster


def test_the_jobs_arguments_parse_and_agree_with_the_config_map(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    from flink_jobs import ingest, sessions

    _, docs = overlay
    config = _of_kind(docs, "ConfigMap")["flowlake-config"]["data"]
    deployments = _of_kind(docs, "FlinkDeployment")
    for job, module in ((INGEST, ingest), (SESSIONS, sessions)):
        spec = deployments[job.pipeline_name]["spec"]
        py_flag, script, *job_args = spec["job"]["args"]
        assert py_flag == "-py" and REPO_ROOT / script.removeprefix("/opt/flowlake/") == job.path
        args, unknown = module.arguments().parse_known_args(job_args)
        assert unknown == [], job
        assert args.group_id == job.group_id and args.job_name in (None, job.pipeline_name)
        assert args.kafka_bootstrap == f"{config['FLOWLAKE_KAFKA_HOST']}:{config['FLOWLAKE_KAFKA_PORT']}"
        assert args.catalog_jdbc_url == (f"jdbc:postgresql://{config['FLOWLAKE_POSTGRES_HOST']}:"
                                         f"{config['FLOWLAKE_POSTGRES_PORT']}/iceberg_catalog")
        assert args.catalog_name == config["FLOWLAKE_CATALOG_NAME"]
        assert args.catalog_user == config["FLOWLAKE_CATALOG_USER"]
        assert args.warehouse == config["FLOWLAKE_WAREHOUSE"]
        assert args.s3_endpoint == config["FLOWLAKE_S3_ENDPOINT"] == spec["flinkConfiguration"]["s3.endpoint"]
        assert args.s3_region == config["FLOWLAKE_S3_REGION"] == spec["flinkConfiguration"]["s3.endpoint.region"]
        assert args.s3_path_style_access == spec["flinkConfiguration"]["s3.path.style.access"]
        bucket = args.warehouse.removeprefix("s3://").split("/")[0]
        assert spec["flinkConfiguration"]["state.checkpoints.dir"].startswith(f"s3://{bucket}/")
    writers = config["FLOWLAKE_WRITER_REST_URLS"].split(",")
    assert writers == [f"http://{job.pipeline_name}-rest:8081" for job in JOBS.values() if job.streaming]
    assert config["FLOWLAKE_FLINK_HOST"] == "flowlake-maintenance-rest"  # the session cluster's REST service


def test_the_maintenance_cronjob_submits_to_the_session_cluster(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    from flink_jobs.maintain import arguments, plan
    from iceberg.maintenance import load_policies
    from iceberg.registry import TABLES

    _, docs = overlay
    container = _of_kind(docs, "CronJob")["flowlake-maintenance"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"][0]
    args = container["args"]
    assert args[:3] == ["run", "--jobmanager", "$(FLOWLAKE_FLINK_HOST):$(FLOWLAKE_FLINK_REST_PORT)"]
    assert args[args.index("--pyClientExecutable") + 1] == "/opt/flowlake/job-venv/bin/python"
    job_args = args[args.index("--python") + 2:]
    parsed, unknown = arguments().parse_known_args(job_args)
    assert unknown == [] and parsed.flink_rest_url == "$(FLOWLAKE_WRITER_REST_URLS)"
    # Every table of the registry, each with its policy from the file baked into the image.
    parsed.policy_file = str(REPO_ROOT / "iceberg" / "maintenance.toml")
    default, overrides = load_policies(Path(parsed.policy_file))
    assert plan(parsed) == [(t.identifier, overrides.get(t.identifier, default)) for t in TABLES]
    assert overrides and set(overrides) < {t.identifier for t in TABLES}
    referenced = set(re.findall(r"\$\((\w+)\)", " ".join(args)))
    config = _of_kind(docs, "ConfigMap")["flowlake-config"]["data"]
    assert referenced <= set(config), referenced - set(config)
    assert {"configMapRef": {"name": "flowlake-config"}} in container["envFrom"]
    assert {"secretRef": {"name": "flowlake-secrets"}} in container["envFrom"]


def test_the_prometheus_rule_is_the_local_rules_and_the_monitors_find_their_ports(
        overlay: tuple[str, list[dict[str, Any]]]) -> None:
    from tests.deploy_tools import prometheus_rule

    _, docs = overlay
    rule = _of_kind(docs, "PrometheusRule")["flowlake"]
    assert rule["spec"] == prometheus_rule()["spec"]  # regenerate with `python -m tests.deploy_tools`
    monitors = _of_kind(docs, "PodMonitor")
    assert monitors["flowlake-flink"]["spec"]["selector"]["matchLabels"] == {"type": "flink-native-kubernetes"}
    exporter = _of_kind(docs, "Deployment")["flowlake-exporter"]["spec"]["template"]
    selector = monitors["flowlake-exporter"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= exporter["metadata"]["labels"].items()
    port = exporter["spec"]["containers"][0]["ports"][0]
    assert port == {"name": "metrics", "containerPort": Settings().exporter_port, "protocol": "TCP"}
    for monitor in monitors.values():
        assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]


def test_the_alertmanager_config_routes_and_inhibits_as_the_local_alertmanager(
        overlay: tuple[str, list[dict[str, Any]]]) -> None:
    from flowlake.alerts import INHIBITIONS
    from tests.deploy_tools import alertmanager_config_resource

    _, docs = overlay
    config = _of_kind(docs, "AlertmanagerConfig")["flowlake"]["spec"]
    assert config == alertmanager_config_resource()["spec"]  # regenerate with `python -m tests.deploy_tools`
    routes = {r["receiver"]: r["matchers"] for r in config["route"]["routes"]}
    assert routes["page"] == [{"name": "severity", "matchType": "=", "value": "critical"}]
    assert [(rule["sourceMatch"][0]["value"], rule["targetMatch"][0]["value"], tuple(rule["equal"]))
            for rule in config["inhibitRules"]] == list(INHIBITIONS)



def test_flink_logs_json_lines_in_the_image_and_on_kubernetes(overlay: tuple[str, list[dict[str, Any]]],
                                                              tmp_path: Path) -> None:
    """The local stack's log configuration, rendered for the image's paths: what the Dockerfile writes into
    /opt/flink/conf and what every FlinkDeployment gives the operator to mount."""
    image_template = "file:///opt/flowlake/deploy/local/flink/log-template.json"
    render(LOCAL_CONFIGS / "flink" / "log4j-console.properties", tmp_path / "log4j-console.properties",
           template_uri=image_template)
    expected = (tmp_path / "log4j-console.properties").read_text()
    _, docs = overlay
    for name, deployment in _of_kind(docs, "FlinkDeployment").items():
        assert deployment["spec"]["logConfiguration"]["log4j-console.properties"] == expected, name
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert f"s#[$][{{]template_uri[}}]#{image_template}#" in dockerfile and "s/[$][$]/$/g" in dockerfile
    assert "> /opt/flink/conf/log4j-console.properties" in dockerfile

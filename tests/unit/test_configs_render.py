"""The local-stack config templates render completely from Settings, and render to valid files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flowlake.config import REPO_ROOT
from flowlake.stack.services import LOCAL_CONFIGS, PROMETHEUS_CONFIG, render


def test_missing_placeholder_is_an_error(tmp_path: Path) -> None:
    template = tmp_path / "t.properties"
    template.write_text("port=${port}\nhost=${host}\n")
    with pytest.raises(KeyError, match="host"):
        render(template, tmp_path / "out", port=1)


def test_flink_config_is_yaml_with_exactly_once_checkpoints(tmp_path: Path) -> None:
    values = dict(flink_version="1.20", host="127.0.0.1", jobmanager_memory="1g", taskmanager_memory="2g",
                  slots=4, rest_port=18081, rpc_port=16123, parallelism=2, checkpoint_interval="10s",
                  checkpoint_dir="file:///c", savepoint_dir="file:///s", job_python="/py",
                  metrics_ports="9249-9252", java_home="/jdk", log_dir="/l", pid_dir="/p", tmp_dir="/t",
                  flat_config='s3.endpoint: "http://127.0.0.1:9000"\n')
    render(LOCAL_CONFIGS / "flink" / "config.yaml", tmp_path / "config.yaml", **values)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["execution"]["checkpointing"]["mode"] == "EXACTLY_ONCE"
    assert config["rest"]["port"] == 18081
    assert config["metrics"]["reporter"]["prom"]["port"] == "9249-9252"
    assert "--add-opens=java.base/java.util=ALL-UNNAMED" in config["env"]["java"]["opts"]["all"]
    assert config["s3.endpoint"] == "http://127.0.0.1:9000"


def test_prometheus_config_lists_every_target_and_the_rules(tmp_path: Path) -> None:
    render(PROMETHEUS_CONFIG, tmp_path / "prometheus.yml", flink_targets='["127.0.0.1:9249", "127.0.0.1:9250"]',
           maintenance_targets='["127.0.0.1:9256"]', exporter_targets='["127.0.0.1:9257"]', rules_dir="/r",
           alertmanager_targets='["127.0.0.1:9095"]', evaluation_interval="15s")
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {"flink": ["127.0.0.1:9249", "127.0.0.1:9250"], "flowlake-maintenance": ["127.0.0.1:9256"],
                    "flowlake-exporter": ["127.0.0.1:9257"]}
    assert config["rule_files"] == ["/r/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9095"]


def test_kafka_allows_flink_transaction_timeouts() -> None:
    text = (LOCAL_CONFIGS / "kafka" / "server.properties").read_text()
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert int(props["transaction.max.timeout.ms"]) >= 3_600_000  # Flink Kafka sink default: 1 h
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"


def test_every_jvm_artifact_is_pinned_in_the_pom() -> None:
    pom = (REPO_ROOT / "deploy" / "maven" / "pom.xml").read_text()
    pinned = ("flink.kafka.connector.version", "iceberg.version", "hadoop.version", "kafka.version", "trino.version")
    for prop in pinned:
        assert f"<{prop}>" in pom
    assert "SNAPSHOT" not in pom and "LATEST" not in pom and "RELEASE" not in pom

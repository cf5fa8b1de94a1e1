from __future__ import annotations

from pathlib import Path

import pytest

from flowlake.config import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWLAKE_KAFKA_PORT", "19092")
    monkeypatch.setenv("FLOWLAKE_DATA_DIR", "/srv/lake")
    settings = Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.warehouse_uri == "file:///srv/lake/warehouse"


def test_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWLAKE_KAFKA_PORT", "not-a-port")
    with pytest.raises(ValueError, match="kafka_port"):
        Settings()


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError):
        settings.kafka_port = 1  # type: ignore[misc]


def test_catalog_password_is_masked_when_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWLAKE_CATALOG_PASSWORD", "s3cret-value")
    settings = Settings()
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" in settings.catalog_sqlalchemy_url


def test_metrics_port_range() -> None:
    assert Settings(flink_metrics_ports="9249-9252").metrics_port_list == [9249, 9250, 9251, 9252]
    assert Settings(flink_metrics_ports="9300").metrics_port_list == [9300]


def test_derived_urls_follow_ports() -> None:
    settings = Settings(data_dir=Path("/d"), flink_rest_port=18081, postgres_port=15433)
    assert settings.flink_rest_url == "https://127.0.0.1:18081"
    assert Settings(flink_rest_port=18081, flink_tls=False).flink_rest_url == "http://127.0.0.1:18081"
    assert settings.catalog_jdbc_url == "jdbc:postgresql://127.0.0.1:15433/iceberg_catalog"

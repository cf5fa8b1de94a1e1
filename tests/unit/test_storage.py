"""Storage locations switch by URI scheme: file:// needs nothing, s3:// gives every engine its S3
settings in its own keys, from the one config object."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import ValidationError

from flink_jobs.common import catalog_sql, common_arguments
from flowlake import keys
from flowlake.clients import storage
from flowlake.config import Settings

S3 = {"warehouse": "s3://lake/warehouse", "checkpoints": "s3://lake/checkpoints", "s3_enabled": True,
      "s3_port": 19000, "s3_secret_key": "s3cret-key"}


def test_file_locations_need_no_s3_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.warehouse_uri == (tmp_path / "warehouse").as_uri()
    assert settings.checkpoints_uri == (tmp_path / "flink" / "checkpoints").as_uri()
    assert not settings.uses_s3
    assert storage.pyiceberg_properties(settings) == {}
    assert storage.trino_properties(settings) == ""
    assert storage.flink_config(settings) == {}
    assert storage.job_arguments(settings) == []


@pytest.mark.parametrize("uri", ["/plain/path", "s3://", "s3://UPPER/x", "hdfs://nn/warehouse", "file://relative"])
def test_a_location_that_is_no_uri_is_refused(uri: str) -> None:
    with pytest.raises(ValidationError, match="no storage location"):
        Settings(warehouse=uri)


def test_s3_settings_in_each_engines_keys(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **S3)
    assert settings.s3_endpoint_url == "http://127.0.0.1:19000"  # the local server
    assert storage.pyiceberg_properties(settings) == {
        "s3.endpoint": "http://127.0.0.1:19000", "s3.region": "us-east-1", "s3.force-virtual-addressing": "false",
        "s3.access-key-id": "flowlake", "s3.secret-access-key": "s3cret-key"}
    trino = dict(line.split("=", 1) for line in storage.trino_properties(settings).splitlines())
    assert trino == {"fs.native-s3.enabled": "true", "s3.endpoint": "http://127.0.0.1:19000",
                     "s3.region": "us-east-1", "s3.path-style-access": "true", "s3.aws-access-key": "flowlake",
                     "s3.aws-secret-key": "s3cret-key"}
    assert storage.flink_config(settings) == {
        "s3.endpoint": "http://127.0.0.1:19000", "s3.path.style.access": "true", "s3.endpoint.region": "us-east-1",
        "s3.access-key": "flowlake", "s3.secret-key": "s3cret-key"}
    assert storage.buckets(settings) == ["lake"]


def test_the_local_servers_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, s3_enabled=True, warehouse="s3://lake/w")
    first = keys.s3_secret_key(settings)
    assert len(first) >= 24 and keys.s3_secret_key(settings) == first
    assert ((tmp_path / "secrets" / "s3-secret-key").stat().st_mode & 0o777) == 0o600


def test_without_keys_the_engines_use_the_aws_credential_chain(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, warehouse="s3://lake/w", s3_endpoint="https://s3.example.net")
    assert "s3.access-key-id" not in storage.pyiceberg_properties(settings)
    assert "s3.aws-access-key" not in storage.trino_properties(settings)
    assert storage.job_env(settings) == {}


def test_the_flink_catalog_uses_s3fileio_for_an_s3_warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **S3)
    from flowlake.clients.flink import job_arguments

    args: argparse.Namespace = common_arguments("t").parse_args(job_arguments(settings))
    for key, value in storage.job_env(settings).items():
        monkeypatch.setenv(key, value)
    ddl = catalog_sql(args)
    assert "'io-impl' = 'org.apache.iceberg.aws.s3.S3FileIO'" in ddl
    assert "'s3.endpoint' = 'http://127.0.0.1:19000'" in ddl
    assert "'s3.secret-access-key' = 's3cret-key'" in ddl
    assert args.checkpoint_dir == "s3://lake/checkpoints"
    assert "s3cret-key" not in " ".join(job_arguments(settings))  # never on a command line

    file_args = common_arguments("t").parse_args(job_arguments(Settings(data_dir=tmp_path)))
    assert "io-impl" not in catalog_sql(file_args)

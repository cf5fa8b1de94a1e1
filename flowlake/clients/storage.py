"""Object storage for s3:// locations: the S3 settings of each engine in that engine's own keys, all
from the one config object, and the buckets of the local S3-compatible server."""

from __future__ import annotations

from urllib.parse import urlparse

from flowlake.config import Settings
from flowlake.keys import s3_secret_key


def _keys(settings: Settings) -> tuple[str, str]:
    secret = s3_secret_key(settings)
    return (settings.s3_access_key, secret) if secret else ("", "")


def pyiceberg_properties(settings: Settings) -> dict[str, str]:
    """PyIceberg (PyArrow's S3 file system) catalog properties; none for a file:// warehouse."""
    if not settings.warehouse_uri.startswith("s3://"):
        return {}
    access, secret = _keys(settings)
    properties = {"s3.region": settings.s3_region,
                  "s3.force-virtual-addressing": str(not settings.s3_path_style_access).lower()}
    if settings.s3_endpoint_url:
        properties["s3.endpoint"] = settings.s3_endpoint_url
    if access:
        properties |= {"s3.access-key-id": access, "s3.secret-access-key": secret}
    return properties


def trino_properties(settings: Settings) -> str:
    """Lines of Trino's Iceberg catalog file for its native S3 file system (beside the local one)."""
    if not settings.warehouse_uri.startswith("s3://"):
        return ""
    access, secret = _keys(settings)
    lines = ["fs.native-s3.enabled=true", f"s3.region={settings.s3_region}",
             f"s3.path-style-access={str(settings.s3_path_style_access).lower()}"]
    if settings.s3_endpoint_url:
        lines.append(f"s3.endpoint={settings.s3_endpoint_url}")
    if access:
        lines += [f"s3.aws-access-key={access}", f"s3.aws-secret-key={secret}"]
    return "\n".join(lines) + "\n"


def flink_config(settings: Settings) -> dict[str, str]:
    """Flink's S3 file system plugin (checkpoints and savepoints on s3://), read once per process: set
    when a location is on S3 or the stack runs the local S3 server (jobs may then put theirs there)."""
    if not (settings.uses_s3 or settings.s3_enabled):
        return {}
    access, secret = _keys(settings)
    config = {"s3.path.style.access": str(settings.s3_path_style_access).lower(),
              "s3.endpoint.region": settings.s3_region}
    if settings.s3_endpoint_url:
        config["s3.endpoint"] = settings.s3_endpoint_url
    if access:
        config |= {"s3.access-key": access, "s3.secret-key": secret}
    return config


def job_arguments(settings: Settings) -> list[str]:
    """What a flowlake job needs for an s3:// warehouse (keys travel in its environment: job_env)."""
    if not settings.warehouse_uri.startswith("s3://"):
        return []
    return ["--s3-endpoint", settings.s3_endpoint_url, "--s3-region", settings.s3_region,
            "--s3-path-style-access", str(settings.s3_path_style_access).lower()]


def job_env(settings: Settings) -> dict[str, str]:
    access, secret = _keys(settings)
    return {"FLOWLAKE_S3_ACCESS_KEY": access, "FLOWLAKE_S3_SECRET_KEY": secret} if access else {}


def filesystem(settings: Settings):  # type: ignore[no-untyped-def]
    """PyArrow's S3 file system on the configured storage."""
    from pyarrow import fs

    access, secret = _keys(settings)
    endpoint = urlparse(settings.s3_endpoint_url) if settings.s3_endpoint_url else None
    return fs.S3FileSystem(access_key=access or None, secret_key=secret or None, region=settings.s3_region,
                           endpoint_override=endpoint.netloc if endpoint else None,
                           scheme=endpoint.scheme if endpoint else "https",
                           force_virtual_addressing=not settings.s3_path_style_access, allow_bucket_creation=True)


def buckets(settings: Settings) -> list[str]:
    return sorted({urlparse(uri).netloc for uri in (settings.warehouse_uri, settings.checkpoints_uri,
                                                    settings.savepoints_uri) if uri.startswith("s3://")})


def ensure_buckets(settings: Settings) -> list[str]:
    """Create the buckets of the s3:// locations (on the local server: nobody else will)."""
    from pyarrow import fs

    s3 = filesystem(settings)
    wanted = buckets(settings)
    for bucket in wanted:
        if s3.get_file_info(bucket).type == fs.FileType.NotFound:
            s3.create_dir(bucket)
    return wanted

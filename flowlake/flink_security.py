"""Flink's doors on the local stack: the REST endpoint (web UI, REST API, `flink run`) speaks TLS only and
requires a client certificate (mutual TLS); the JobManager and the TaskManagers talk to each other over TLS
(RPC, blobs, data exchange) with a certificate of their own.

Certificates, made once per data dir into <data dir>/secrets/flink-tls/ (readable by the owner only):
- rest-server.pem: the REST endpoint's self-signed certificate (its key only in rest-keystore.p12), what
  clients verify Flink with;
- client.pem, client-key.pem: flowlake's client certificate (the CLI, the exporter, tests, benches); the same
  in client.p12 to import into a browser for the web UI (its password in client-p12-password);
- rest-truststore.p12: the two certificates Flink trusts (the server's own, which `flink run` presents as it
  reads the cluster's configuration, and flowlake's client certificate): nothing else gets in;
- internal.p12: the key and certificate the JobManager and TaskManagers present to each other.
With FLOWLAKE_FLINK_TLS=false (compose, Kubernetes: docs/security.md) everything speaks plain HTTP as before.
A cluster flowlake did not start is reached with FLOWLAKE_FLINK_CA_FILE, FLOWLAKE_FLINK_CLIENT_CERT and
FLOWLAKE_FLINK_CLIENT_KEY."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any

from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.keys import generated_secret, openssl, secrets_dir, self_signed_certificate

PASSWORD_ENV = "FLOWLAKE_FLINK_STORE_PASSWORD"
# Forward-secret suites that every JDK 17 update keeps (later ones disable the TLS_RSA_* suites Flink 1.20
# defaults to).
CIPHER_SUITES = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"


def enabled(settings: Settings) -> bool:
    return settings.flink_tls


def tls_dir(settings: Settings) -> Path:
    return secrets_dir(settings) / "flink-tls"


def ca_file(settings: Settings) -> Path:
    """The certificate clients verify Flink's REST endpoint with."""
    return Path(settings.flink_ca_file) if settings.flink_ca_file else tls_dir(settings) / "rest-server.pem"


def client_certificate(settings: Settings) -> tuple[Path, Path]:
    """flowlake's client certificate and its key (PEM)."""
    if settings.flink_client_cert:
        return Path(settings.flink_client_cert), Path(settings.flink_client_key or settings.flink_client_cert)
    return tls_dir(settings) / "client.pem", tls_dir(settings) / "client-key.pem"


def browser_certificate(settings: Settings) -> tuple[Path, Path]:
    """The client certificate as PKCS#12, for a browser, and the file holding its password."""
    return tls_dir(settings) / "client.p12", secrets_dir(settings) / "flink-client-p12-password"


def store_password(settings: Settings) -> str:
    return generated_secret(settings, "flink-store-password", lambda: secrets.token_urlsafe(24))


def requests_options(settings: Settings) -> dict[str, Any]:
    """What `requests` needs to reach Flink's REST endpoint: the client certificate and the CA."""
    if not enabled(settings):
        return {}
    cert, key = client_certificate(settings)
    return {"cert": (str(cert), str(key)), "verify": str(ca_file(settings))}


def _keytool(java_home: Path, args: list[str], what: str) -> None:
    result = subprocess.run([str(java_home / "bin" / "keytool"), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise FlowlakeError(f"keytool could not make {what}: {(result.stdout + result.stderr)[-1000:]}")


def ensure_certificates(settings: Settings, java_home: Path) -> None:
    """Make the local cluster's files above, unless all are there (keytool for the truststore: a PKCS#12 file of
    trusted certificates that Java reads as such needs Java's own attribute, which OpenSSL 3.0 cannot write)."""
    folder = tls_dir(settings)
    server_keystore, truststore, internal = (folder / "rest-keystore.p12", folder / "rest-truststore.p12",
                                             folder / "internal.p12")
    p12, p12_password_file = browser_certificate(settings)
    made = (server_keystore, truststore, internal, p12, folder / "rest-server.pem", folder / "client.pem",
            folder / "client-key.pem")
    if all(path.exists() for path in made):
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in folder.iterdir():  # a half-made set from an interrupted run: make all of it again
        stale.unlink()
    password = store_password(settings)
    hosts = (settings.host, settings.flink_host)

    def keystore(name: str, service: str, out: Path, out_password: str) -> Path:
        """<name>.pem and <name>-key.pem, and both in the PKCS#12 file `out`; returns the certificate."""
        cert, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
        self_signed_certificate(cert, key, service, hosts)
        openssl(["pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-name", name, "-out", str(out),
                 "-passout", f"env:{PASSWORD_ENV}"], f"the {service}'s keystore",
                env={"PATH": "/usr/bin:/bin", PASSWORD_ENV: out_password})
        return cert

    server_cert = keystore("rest-server", "Flink REST endpoint", server_keystore, password)
    (folder / "rest-server-key.pem").unlink()  # the server's key lives in its keystore only
    p12_password = generated_secret(settings, p12_password_file.name, lambda: secrets.token_urlsafe(12))
    client_cert = keystore("client", "Flink client", p12, p12_password)
    internal_cert = keystore("internal", "Flink cluster", internal, password)
    for leftover in (internal_cert, folder / "internal-key.pem"):
        leftover.unlink()
    for alias, cert in (("flink-rest", server_cert), ("flowlake-client", client_cert)):
        _keytool(Path(java_home), ["-importcert", "-noprompt", "-alias", alias, "-file", str(cert),
                                   "-keystore", str(truststore), "-storetype", "PKCS12", "-storepass", password],
                 "Flink's REST truststore")
    for path in folder.iterdir():
        path.chmod(0o600)


def flink_config(settings: Settings) -> dict[str, str]:
    """The cluster's (and `flink run`'s) security.ssl.* settings."""
    if not enabled(settings):
        return {}
    folder, password = tls_dir(settings), store_password(settings)
    config = {"security.ssl.algorithms": CIPHER_SUITES}
    for scope, keystore, truststore in (("rest", "rest-keystore.p12", "rest-truststore.p12"),
                                        ("internal", "internal.p12", "internal.p12")):
        config.update({
            f"security.ssl.{scope}.enabled": "true",
            f"security.ssl.{scope}.keystore": str(folder / keystore),
            f"security.ssl.{scope}.keystore-password": password,
            f"security.ssl.{scope}.key-password": password,
            f"security.ssl.{scope}.truststore": str(folder / truststore),
            f"security.ssl.{scope}.truststore-password": password,
        })
    config["security.ssl.rest.authentication-enabled"] = "true"
    return config

"""Every secret flowlake reads or generates, in one place: the PII hash key, the Trino users' passwords
and the Trino nodes' internal secret, the local S3 server's secret key. Each comes from the settings
(the environment) when set; the local stack generates what is missing once per data dir, into
<data dir>/secrets/, readable by its owner only, never in the repository. Production sets them itself
(a Kubernetes Secret, a vault); jobs and workers read the PII key with udfs.masking.load_hash_key."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from flowlake.config import Settings
from flowlake.errors import FlowlakeError, PrerequisiteMissing
from udfs.masking import HASH_KEY_ENV

console = Console(stderr=True)


def secrets_dir(settings: Settings) -> Path:
    return settings.data_dir / "secrets"


def passwords_file(settings: Settings) -> Path:
    return secrets_dir(settings) / "trino-passwords.json"


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def generated_secret(settings: Settings, name: str, make: Callable[[], str], announce: str = "") -> str:
    """<data dir>/secrets/<name>: made once, readable by its owner only; later calls read it. `announce`,
    when given, is printed the time it is made ({path} stands for the file)."""
    path = secrets_dir(settings) / name
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        if announce:
            console.print("  " + announce.format(path=path))
    return path.read_text().strip()


def pii_hash_key(settings: Settings) -> str:
    """The PII key the local stack's jobs hash with: FLOWLAKE_PII_HASH_KEY, else the generated one."""
    return os.environ.get(HASH_KEY_ENV) or local_hash_key(settings)


def local_hash_key(settings: Settings) -> str:
    """The local stack's PII hash key when FLOWLAKE_PII_HASH_KEY is not set: random, generated once
    per data dir, readable by its owner only, never in the repository. Production sets the variable
    (a Kubernetes Secret, a vault) for the TaskManagers."""
    return generated_secret(settings, "pii-hash-key", lambda: secrets.token_hex(32),
                            f"generated a local PII hash key in {{path}} (set {HASH_KEY_ENV} to use your own)")


def generated_passwords(path: Path, names: Iterable[str], configured: dict[str, SecretStr]) -> dict[str, str]:
    """Every name's password: the configured one, else one generated once into `path` (JSON, owner only)."""
    generated = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in names if name not in configured and name not in generated]
    if missing:
        generated.update({name: secrets.token_urlsafe(18) for name in missing})
        write_private(path, json.dumps(generated, indent=2) + "\n")
    return {name: configured[name].get_secret_value() if name in configured else generated[name] for name in names}


def stored_password(path: Path, name: str, configured: dict[str, SecretStr]) -> str | None:
    """The configured password, else the one generated into `path`; None if there is neither."""
    if name in configured:
        return configured[name].get_secret_value()
    generated = json.loads(path.read_text()) if path.exists() else {}
    return str(generated[name]) if name in generated else None


def ensure_passwords(settings: Settings) -> dict[str, str]:
    """Every configured Trino user's password: the configured one, else a generated one (created once)."""
    return generated_passwords(passwords_file(settings), settings.trino_users, settings.trino_passwords)


def password_for(settings: Settings, user: str) -> str:
    found = stored_password(passwords_file(settings), user, settings.trino_passwords)
    if found is not None:
        return found
    known = ", ".join(settings.trino_users)
    raise FlowlakeError(f"no password for Trino user {user!r}: the users are {known} (FLOWLAKE_TRINO_USERS); "
                        f"set FLOWLAKE_TRINO_PASSWORDS='{{\"{user}\": \"...\"}}' or run `flowlake up` to generate one")


def self_signed_certificate(cert: Path, key: Path, service: str, hosts: Iterable[str]) -> None:
    """A private key and a self-signed certificate for `hosts` (IPs or names; localhost and 127.0.0.1 always),
    made with openssl."""
    alt_names = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in dict.fromkeys(hosts) if h)
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825", "-sha256",
             "-subj", f"/CN=flowlake local {service}",
             "-addext", f"subjectAltName={alt_names},DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            f"the local {service}'s TLS certificate")


def openssl(args: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(["openssl", *args], capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise PrerequisiteMissing(f"openssl not found, needed for {what}: apt-get install openssl") from None
    if result.returncode != 0:
        raise FlowlakeError(f"openssl could not make {what}: {result.stderr[-1000:]}")


def internal_secret(settings: Settings) -> str:
    """The shared secret Trino nodes sign their internal requests with (required with authentication)."""
    return generated_secret(settings, "trino-internal-secret", lambda: secrets.token_urlsafe(48))


def s3_secret_key(settings: Settings) -> str:
    """The configured secret key; for the local server without one, a key generated once and kept
    private in the data dir. Empty: the engines fall back to AWS's default credential chain."""
    configured = settings.s3_secret_key.get_secret_value()
    if configured or not settings.s3_enabled:
        return configured
    return generated_secret(settings, "s3-secret-key", lambda: secrets.token_urlsafe(24))

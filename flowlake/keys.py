"""Every secret flowlake reads or generates, in one place: the PII hash key, the Trino users' passwords
and the Trino nodes' internal secret, the local S3 server's secret key. Each comes from the settings
(the environment) when set; the local stack generates what is missing once per data dir, into
<data dir>/secrets/, readable by its owner only, never in the repository. Production sets them itself
(a Kubernetes Secret, a vault); jobs and workers read the PII key with udfs.masking.load_hash_key."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from flowlake.config import Settings
from flowlake.errors import FlowlakeError
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


def _generated_passwords(settings: Settings) -> dict[str, str]:
    path = passwords_file(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def ensure_passwords(settings: Settings) -> dict[str, str]:
    """Every configured user's password: the configured one, else a generated one (created once)."""
    generated = _generated_passwords(settings)
    missing = [u for u in settings.trino_users if u not in settings.trino_passwords and u not in generated]
    if missing:
        generated.update({user: secrets.token_urlsafe(18) for user in missing})
        write_private(passwords_file(settings), json.dumps(generated, indent=2) + "\n")
    return {user: settings.trino_passwords[user].get_secret_value() if user in settings.trino_passwords
            else generated[user] for user in settings.trino_users}


def password_for(settings: Settings, user: str) -> str:
    if user in settings.trino_passwords:
        return settings.trino_passwords[user].get_secret_value()
    generated = _generated_passwords(settings)
    if user in generated:
        return generated[user]
    known = ", ".join(settings.trino_users)
    raise FlowlakeError(f"no password for Trino user {user!r}: the users are {known} (FLOWLAKE_TRINO_USERS); "
                        f"set FLOWLAKE_TRINO_PASSWORDS='{{\"{user}\": \"...\"}}' or run `flowlake up` to generate one")


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

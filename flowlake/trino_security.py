"""The local Trino's security: who may connect (a password file), what they may do (file-based
access control, deploy/local/trino/rules.json), and the TLS certificate that password
authentication needs (Trino accepts passwords over HTTPS only).

Users and their roles are settings (FLOWLAKE_TRINO_USERS); passwords come from
FLOWLAKE_TRINO_PASSWORDS, else one is generated per user at `flowlake up` and kept in
<data dir>/secrets/trino-passwords.json, readable by its owner only."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from pathlib import Path

from flowlake.config import Settings
from flowlake.errors import FlowlakeError, PrerequisiteMissing

# rules.json grants by group; a user's role names its group.
GROUP_OF_ROLE = {"analyst": "analysts", "engineer": "engineers"}
PBKDF2_ITERATIONS = 10_000  # Trino's file authenticator requires at least 1,000


def secrets_dir(settings: Settings) -> Path:
    return settings.data_dir / "secrets"


def passwords_file(settings: Settings) -> Path:
    return secrets_dir(settings) / "trino-passwords.json"


def certificate_file(settings: Settings) -> Path:
    """The certificate clients verify the local Trino with (its CA: it signs itself)."""
    return secrets_dir(settings) / "trino-tls" / "cert.pem"


def keystore_file(settings: Settings) -> Path:
    """Private key and certificate in one PEM file, as Trino's HTTPS server reads them."""
    return secrets_dir(settings) / "trino-tls" / "server.pem"


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


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


def password_line(user: str, password: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> str:
    """One line of Trino's password file: user:iterations:salt:hash, PBKDF2 (HMAC-SHA1), hex."""
    digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, dklen=32)
    return f"{user}:{iterations}:{salt.hex()}:{digest.hex()}"


def password_file_text(passwords: dict[str, str]) -> str:
    return "".join(password_line(user, pw, secrets.token_bytes(16)) + "\n" for user, pw in sorted(passwords.items()))


def group_file_text(users: dict[str, str]) -> str:
    """Trino's group file: one `group:user,user` line per role."""
    lines = []
    for role, group in GROUP_OF_ROLE.items():
        members = sorted(user for user, r in users.items() if r == role)
        if members:
            lines.append(f"{group}:{','.join(members)}\n")
    return "".join(lines)


def internal_secret(settings: Settings) -> str:
    """The shared secret Trino nodes sign their internal requests with (required with authentication)."""
    path = secrets_dir(settings) / "trino-internal-secret"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def ensure_certificate(settings: Settings) -> Path:
    """A self-signed certificate for the configured host (and localhost), made once with openssl."""
    cert, keystore = certificate_file(settings), keystore_file(settings)
    if cert.exists() and keystore.exists():
        return cert
    key = keystore.with_name("key.pem")
    cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    hosts = dict.fromkeys(h for h in (settings.host, settings.trino_host) if h)
    alt_names = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts)
    cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825", "-sha256",
           "-subj", "/CN=flowlake local Trino", "-addext", f"subjectAltName={alt_names},DNS:localhost,IP:127.0.0.1",
           "-keyout", str(key), "-out", str(cert)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise PrerequisiteMissing("openssl not found, needed for the local Trino's TLS certificate: "
                                  "apt-get install openssl") from None
    if result.returncode != 0:
        raise FlowlakeError(f"openssl could not make Trino's certificate: {result.stderr[-1000:]}")
    write_private(keystore, key.read_text() + cert.read_text())
    key.unlink()
    return cert

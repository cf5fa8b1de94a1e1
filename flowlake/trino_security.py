"""The local Trino's security: who may connect (a password file), what they may do (file-based
access control, deploy/local/trino/rules.json), and the TLS certificate that password
authentication needs (Trino accepts passwords over HTTPS only).

Users and their roles are settings (FLOWLAKE_TRINO_USERS); their passwords and the internal secret are
flowlake.keys'."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from flowlake.config import Settings
from flowlake.keys import secrets_dir, self_signed_certificate, write_private

# rules.json grants by group; a user's role names its group.
GROUP_OF_ROLE = {"analyst": "analysts", "engineer": "engineers"}
PBKDF2_ITERATIONS = 10_000  # Trino's file authenticator requires at least 1,000


def certificate_file(settings: Settings) -> Path:
    """The certificate clients verify the local Trino with (its CA: it signs itself)."""
    return secrets_dir(settings) / "trino-tls" / "cert.pem"


def keystore_file(settings: Settings) -> Path:
    """Private key and certificate in one PEM file, as Trino's HTTPS server reads them."""
    return secrets_dir(settings) / "trino-tls" / "server.pem"


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


def ensure_certificate(settings: Settings) -> Path:
    """A self-signed certificate for the configured host (and localhost), made once with openssl."""
    cert, keystore = certificate_file(settings), keystore_file(settings)
    if cert.exists() and keystore.exists():
        return cert
    key = keystore.with_name("key.pem")
    cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    self_signed_certificate(cert, key, "Trino", (settings.host, settings.trino_host))
    write_private(keystore, key.read_text() + cert.read_text())
    key.unlink()
    return cert

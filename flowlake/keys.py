"""The PII hash key of the local stack: the one secret flowlake generates. Production sets
FLOWLAKE_PII_HASH_KEY itself (a Kubernetes Secret, a vault); jobs and workers read it with
udfs.masking.load_hash_key."""

from __future__ import annotations

import os
import secrets

from rich.console import Console

from flowlake.config import Settings
from udfs.masking import HASH_KEY_ENV

console = Console(stderr=True)


def pii_hash_key(settings: Settings) -> str:
    """The PII key the local stack's jobs hash with: FLOWLAKE_PII_HASH_KEY, else the generated one."""
    return os.environ.get(HASH_KEY_ENV) or local_hash_key(settings)


def local_hash_key(settings: Settings) -> str:
    """The local stack's PII hash key when FLOWLAKE_PII_HASH_KEY is not set: random, generated once
    per data dir, readable by its owner only, never in the repository. Production sets the variable
    (a Kubernetes Secret, a vault) for the TaskManagers."""
    path = settings.data_dir / "secrets" / "pii-hash-key"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        console.print(f"  generated a local PII hash key in {path} (set {HASH_KEY_ENV} to use your own)")
    return path.read_text().strip()

"""Masking policies: redact, mask, hash, drop. Free text is scanned and each finding masked;
structured fields (email, phone, card ...) are masked whole, by policy, whatever they contain."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from enum import Enum

from udfs.errors import FlowlakeError
from udfs.pii import EMAIL_ADDRESS, Finding, detect

HASH_KEY_ENV = "FLOWLAKE_PII_HASH_KEY"
_MAX_PASSES = 3
# Hash tokens are spelled with the letters a-p only (one per hex nibble): a token can never
# contain a digit run that a later scan would take for a number.
_NIBBLE_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


class Policy(str, Enum):
    REDACT = "redact"  # <EMAIL_ADDRESS>
    MASK = "mask"  # **** **** **** 1111: keep the last 4 characters that are letters or digits
    HASH = "hash"  # <EMAIL_ADDRESS#kfjdoa...>: keyed HMAC-SHA256, deterministic, so joins still work
    DROP = "drop"  # removed


class MissingHashKey(FlowlakeError, RuntimeError):
    def __init__(self) -> None:
        super().__init__(f"the hash policy needs a secret key in the environment variable {HASH_KEY_ENV} "
                         f"(e.g. `export {HASH_KEY_ENV}=$(openssl rand -hex 32)`); it is never read from code or files")


class KeyMismatch(FlowlakeError, RuntimeError):
    def __init__(self, expected: str, found: str) -> None:
        super().__init__(f"this worker's {HASH_KEY_ENV} (fingerprint {found}) is not the key the job was submitted "
                         f"with (fingerprint {expected}): its tokens would not match the rest of the lakehouse. "
                         f"Give every TaskManager the same {HASH_KEY_ENV} as the client that submits the job")


def load_hash_key() -> bytes:
    key = os.environ.get(HASH_KEY_ENV, "")
    if not key:
        raise MissingHashKey()
    return key.encode()


def key_fingerprint(key: bytes) -> str:
    """Names a key without revealing it: a job carries its client's fingerprint to its workers, which
    refuse to hash with any other key."""
    return hmac.new(key, b"flowlake key fingerprint", hashlib.sha256).hexdigest()[:12]


def load_checked_hash_key(fingerprint: str) -> bytes:
    """The worker's key, which must be the one the job was submitted with (`fingerprint`; empty: any)."""
    key = load_hash_key()
    if fingerprint and key_fingerprint(key) != fingerprint:
        raise KeyMismatch(fingerprint, key_fingerprint(key))
    return key


def _normalise(value: str, entity_type: str) -> str:
    """The same person's value written differently hashes the same."""
    if entity_type == EMAIL_ADDRESS:
        return value.strip().lower()
    return "".join(filter(str.isalnum, value)).upper()


def hash_token(value: str, entity_type: str, key: bytes) -> str:
    digest = hmac.digest(key, f"{entity_type}\x00{_normalise(value, entity_type)}".encode(), "sha256")
    return f"<{entity_type}#{digest.hex()[:20].translate(_NIBBLE_LETTERS)}>"


def _mask_keep_last4(value: str, entity_type: str) -> str:
    if entity_type == EMAIL_ADDRESS and "@" in value:
        local, _, domain = value.rpartition("@")
        return "*" * len(local) + "@" + domain
    keep = 4
    out = []
    for ch in reversed(value):
        if ch.isalnum():
            out.append(ch if keep > 0 else "*")
            keep -= 1
        else:
            out.append(ch)
    return "".join(reversed(out))


def mask_value(value: str | None, entity_type: str, policy: Policy, key: bytes | None = None) -> str | None:
    """A structured field's whole value under a policy."""
    if value is None or value == "":
        return value
    if policy is Policy.REDACT:
        return f"<{entity_type}>"
    if policy is Policy.MASK:
        return _mask_keep_last4(value, entity_type)
    if policy is Policy.HASH:
        return hash_token(value, entity_type, key if key is not None else load_hash_key())
    return None


def _apply(text: str, findings: Sequence[Finding], policy: Policy, key: bytes | None) -> str:
    parts = []
    cursor = 0
    for f in findings:
        parts.append(text[cursor:f.start])
        replacement = mask_value(text[f.start:f.end], f.entity_type, policy, key)
        parts.append(replacement if replacement is not None else "")
        cursor = f.end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_text(text: str | None, policy: Policy, key: bytes | None = None) -> str | None:
    """Free text with every finding masked."""
    return mask_text_with_findings(text, policy, key)[0]


def mask_text_with_findings(text: str | None, policy: Policy,
                            key: bytes | None = None) -> tuple[str | None, list[Finding]]:
    """The masked text and the findings in the original. Masking can, rarely, bring two fragments
    together into something that scans as PII again (a dropped span between digits): the result is
    scanned again until clean."""
    if not text:
        return text, []
    if policy is Policy.HASH and key is None:
        key = load_hash_key()
    original: list[Finding] | None = None
    for _ in range(_MAX_PASSES):
        findings = detect(text)
        if original is None:
            original = findings
        if not findings:
            return text, original
        text = _apply(text, findings, policy, key)
    # Still not clean after repeated passes: redact what is left rather than let PII through.
    return _apply(text, detect(text), Policy.REDACT, None), original or []


def mask_batch(texts: Sequence[str | None], policy: Policy, key: bytes | None = None) -> list[str | None]:
    if policy is Policy.HASH and key is None:
        key = load_hash_key()
    return [mask_text(t, policy, key) for t in texts]

"""Masking policies; the property that masked text scans clean, whatever the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs.masking import HASH_KEY_ENV, MissingHashKey, Policy, hash_token, mask_batch, mask_text, mask_value
from udfs.pii import detect

KEY = b"test-key-not-a-secret"
PII_VALUES = ["anna@example.com", "4111 1111 1111 1111", "5555555555554444", "DE89 3704 0044 0532 0130 00",
              "536-22-8726", "192.168.1.20", "2001:db8::1", "+49 30 12345678", "(415) 555-2671", "07700 900123",
              "01 23 45 67 89", "+91 98765 43210"]
FILLER = st.text(alphabet=st.sampled_from(list("abc XYZ 0123456789 .,-+@:()")), max_size=12)


def test_redact() -> None:
    assert mask_text("mail anna@example.com now", Policy.REDACT) == "mail <EMAIL_ADDRESS> now"


def test_mask_keeps_last_four_of_a_card() -> None:
    assert mask_text("card 4111 1111 1111 1111 ok", Policy.MASK) == "card **** **** **** 1111 ok"
    assert mask_value("anna@example.com", "EMAIL_ADDRESS", Policy.MASK) == "****@example.com"


def test_hash_is_deterministic_keyed_and_format_independent() -> None:
    a = hash_token("+49 30 12345678", "PHONE_NUMBER", KEY)
    assert a == hash_token("+49-30-1234-5678", "PHONE_NUMBER", KEY)
    assert a != hash_token("+49 30 12345678", "PHONE_NUMBER", b"another key")
    assert hash_token("Anna@Example.com", "EMAIL_ADDRESS", KEY) == hash_token("anna@example.com", "EMAIL_ADDRESS", KEY)
    assert not any(ch.isdigit() for ch in a.split("#")[1])


def test_hash_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    with pytest.raises(MissingHashKey, match=HASH_KEY_ENV):
        mask_text("anna@example.com", Policy.HASH)
    monkeypatch.setenv(HASH_KEY_ENV, "k")
    assert mask_text("anna@example.com", Policy.HASH) == hash_token("anna@example.com", "EMAIL_ADDRESS", b"k")


def test_drop() -> None:
    assert mask_text("card 4111 1111 1111 1111 ok", Policy.DROP) == "card  ok"
    assert mask_value("4111 1111 1111 1111", "CREDIT_CARD", Policy.DROP) is None


def test_batch_and_empty_values() -> None:
    assert mask_batch([None, "", "x", "anna@example.com"], Policy.REDACT) == [None, "", "x", "<EMAIL_ADDRESS>"]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(PII_VALUES), FILLER), max_size=8),
       policy=st.sampled_from(list(Policy)))
def test_masked_text_scans_clean(parts: list[str], policy: Policy) -> None:
    text = " ".join(parts)
    masked = mask_text(text, policy, KEY)
    assert masked is not None
    assert detect(masked) == []


def test_workers_refuse_a_key_other_than_the_submitting_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from udfs.masking import KeyMismatch, key_fingerprint, load_checked_hash_key

    client = key_fingerprint(b"the-key")
    assert client == key_fingerprint(b"the-key") and client != key_fingerprint(b"another-key")
    assert "the-key" not in client and len(client) == 12
    monkeypatch.setenv(HASH_KEY_ENV, "the-key")
    assert load_checked_hash_key(client) == b"the-key"
    assert load_checked_hash_key("") == b"the-key"  # no fingerprint given: any key
    monkeypatch.setenv(HASH_KEY_ENV, "another-key")
    with pytest.raises(KeyMismatch, match=f"fingerprint {client}"):
        load_checked_hash_key(client)
    monkeypatch.delenv(HASH_KEY_ENV)
    with pytest.raises(MissingHashKey):
        load_checked_hash_key(client)

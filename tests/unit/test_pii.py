"""PII detection: each entity type, its look-alikes, and accuracy on the labelled corpus."""

from __future__ import annotations

import itertools

import pytest

from bench.corpus import load
from bench.pii_eval import evaluate, flowlake_detector
from udfs.pii import ENTITY_TYPES, Finding, detect, detect_batch, iban_ok, is_valid, luhn_ok


def found(text: str) -> list[tuple[str, str]]:
    return [(text[f.start:f.end], f.entity_type) for f in detect(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("mail anna.schmidt@example.com now", [("anna.schmidt@example.com", "EMAIL_ADDRESS")]),
    ("card 4111 1111 1111 1111", [("4111 1111 1111 1111", "CREDIT_CARD")]),
    ("amex 3782-822463-10005", [("3782-822463-10005", "CREDIT_CARD")]),
    ("card 5555555555554444.", [("5555555555554444", "CREDIT_CARD")]),
    ("IBAN DE89 3704 0044 0532 0130 00 thanks", [("DE89 3704 0044 0532 0130 00", "IBAN_CODE")]),
    ("iban GB82WEST12345698765432", [("GB82WEST12345698765432", "IBAN_CODE")]),
    ("ssn 536-22-8726", [("536-22-8726", "US_SSN")]),
    ("my social security number is 536228726", [("536228726", "US_SSN")]),
    ("from 192.168.1.20 and 2001:db8::8a2e:370:7334", [("192.168.1.20", "IP_ADDRESS"),
                                                       ("2001:db8::8a2e:370:7334", "IP_ADDRESS")]),
    ("call (415) 555-2671", [("(415) 555-2671", "PHONE_NUMBER")]),
    ("US +1 415 555 2671", [("+1 415 555 2671", "PHONE_NUMBER")]),
    ("UK 020 7946 0958 or +44 (0)20 7946 0958", [("020 7946 0958", "PHONE_NUMBER"),
                                                 ("+44 (0)20 7946 0958", "PHONE_NUMBER")]),
    ("DE 030 12345678 / +49 151 23456789", [("030 12345678", "PHONE_NUMBER"), ("+49 151 23456789", "PHONE_NUMBER")]),
    ("FR 01 23 45 67 89 / +33 6 12 34 56 78", [("01 23 45 67 89", "PHONE_NUMBER"),
                                               ("+33 6 12 34 56 78", "PHONE_NUMBER")]),
    ("IN +91 98765 43210 / 98765 43210", [("+91 98765 43210", "PHONE_NUMBER"), ("98765 43210", "PHONE_NUMBER")]),
    ("E.164 +4915123456789", [("+4915123456789", "PHONE_NUMBER")]),
    # A number one space from another: each found whole, neither swallowing the other's digits.
    ("card 5145055053757430 89.168.195.175", [("5145055053757430", "CREDIT_CARD"),
                                              ("89.168.195.175", "IP_ADDRESS")]),
    ("+33 4 32 71 98 64 4226 1824 2598 1228", [("+33 4 32 71 98 64", "PHONE_NUMBER"),
                                               ("4226 1824 2598 1228", "CREDIT_CARD")]),
    ("from 203.0.113.7 4111111111111111", [("203.0.113.7", "IP_ADDRESS"), ("4111111111111111", "CREDIT_CARD")]),
    ("+49 151 23456789 5500 0000 0000 0004", [("+49 151 23456789", "PHONE_NUMBER"),
                                              ("5500 0000 0000 0004", "CREDIT_CARD")]),
    ("06 12 34 56 78 3782 822463 10005", [("06 12 34 56 78", "PHONE_NUMBER"), ("3782 822463 10005", "CREDIT_CARD")]),
])
def test_detects(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "order ORD-12345678 shipped",
    "tracking 1Z999AA10123456784",
    "on 2024-01-15 at 12:30:45, or 15.01.2024, or 1/15/2024",
    "total 1,234.56 EUR, $12,345.67",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "version 1.2.3.4 and v2.10.1",
    "card 4111 1111 1111 1112 fails Luhn",
    "IBAN DE89 3704 0044 0532 0130 01 fails mod 97",
    "not SSNs: 000-12-3456, 666-12-3456, 912-12-3456, 536-00-8726, 078-05-1120",
    "not IPs: 300.1.2.3, 1.2.3.4.5",
    "no area code 111-555-1234 nor N11 exchange 415-911-1234",
    "a bare 9 digit number 536228726 without context",
    "short numbers 12345 and 123-4567",
    "card 4111 1111 1111 1112 300.168.195.175 fails Luhn next to a bad IP",
    "ref 4111 1111 1111 1111abc 12",
])
def test_look_alikes_are_not_pii(text: str) -> None:
    assert detect(text) == []


def test_unicode_digits_are_not_numbers() -> None:
    arabic_indic = str.maketrans("0123456789", "".join(chr(0x660 + i) for i in range(10)))
    assert detect("card 4111 1111 1111 1111".translate(arabic_indic)) == []


def test_offsets_are_character_offsets() -> None:
    text = "Grüße, ☎ +49 30 12345678"
    [finding] = detect(text)
    assert text[finding.start:finding.end] == "+49 30 12345678"


def test_findings_do_not_overlap_and_are_ordered() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00, card 4111111111111111, mail a@example.com, +49 30 1234567"
    findings = detect(text)
    assert [f.entity_type for f in findings] == ["IBAN_CODE", "CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_batch_matches_single_calls() -> None:
    texts = ["a@example.com", None, "", "nothing", "card 4111 1111 1111 1111"]
    assert detect_batch(texts) == [detect(t) if t else [] for t in texts]
    assert detect_batch(texts)[0] == [Finding(0, 13, "EMAIL_ADDRESS", 1.0)]


def test_checksums() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("GB82 WEST 1234 5698 7654")  # wrong length for GB


@pytest.mark.parametrize(("entity_type", "value", "expected"), [
    ("EMAIL_ADDRESS", "ana.lopez@example.com", True),
    ("EMAIL_ADDRESS", "ana.lopez@example.com and more", False),
    ("CREDIT_CARD", "4111 1111 1111 1111", True),
    ("CREDIT_CARD", "4111 1111 1111 1112", False),  # Luhn fails
    ("IBAN_CODE", "DE89 3704 0044 0532 0130 00", True),
    ("IBAN_CODE", "DE89 3704 0044 0532 0130 01", False),  # mod-97 fails
    ("IP_ADDRESS", "2001:db8::1", True),
    ("IP_ADDRESS", "256.1.1.1", False),
    ("PHONE_NUMBER", "+44 20 7946 0958", True),
    ("PHONE_NUMBER", "call +44 20 7946 0958", False),
    ("US_SSN", "536-22-1234", True),
    ("US_SSN", "666-22-1234", False),
])
def test_is_valid_checks_a_whole_value(entity_type: str, value: str, expected: bool) -> None:
    assert is_valid(entity_type, value) is expected


def test_is_valid_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match="unknown PII entity type"):
        is_valid("PASSPORT", "X1234567")


def test_precision_and_recall_on_the_labelled_corpus() -> None:
    scores = evaluate(flowlake_detector, load(), ENTITY_TYPES)  # tests/data/pii, frozen
    for entity, score in scores.items():
        assert score.tp > 300, entity
        assert score.precision >= 0.98, (entity, score.errors[:5])
        assert score.recall >= 0.98, (entity, score.errors[:5])

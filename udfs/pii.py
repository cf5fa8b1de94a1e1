"""PII detection: regular expressions find candidates, checksums and numbering rules confirm them.

Standard library only, so the same code runs in Flink's Python workers and in the CLI. Entity
names follow Microsoft Presidio's. Offsets are character offsets into the scanned text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from udfs import pii_rules as rules

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
IBAN_CODE = "IBAN_CODE"
US_SSN = "US_SSN"
IP_ADDRESS = "IP_ADDRESS"
ENTITY_TYPES = (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS)

# When two findings overlap, the more specific one wins.
_PRIORITY = {EMAIL_ADDRESS: 0, IBAN_CODE: 1, CREDIT_CARD: 2, US_SSN: 3, IP_ADDRESS: 4, PHONE_NUMBER: 5}


_SHAPE_ONLY = 0.0  # score of a candidate kept only to block overlapping ones


class Finding(NamedTuple):
    # A NamedTuple, not a frozen dataclass: several times cheaper to create, and detect() creates many.
    start: int
    end: int
    entity_type: str
    score: float


_EMAIL_LOCAL = r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
_EMAIL_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
_EMAIL = re.compile(f"(?a){_EMAIL_LOCAL}@{_EMAIL_DOMAIN}")
# Scanning from each "@" outwards is much cheaper than trying the whole pattern at every position.
_EMAIL_LOCAL_BEFORE_AT = re.compile(f"(?a){_EMAIL_LOCAL}\\Z")
_EMAIL_DOMAIN_AFTER_AT = re.compile(f"(?a){_EMAIL_DOMAIN}")
# 13-19 digits, optionally in groups separated by one space or dash.
_CARD = re.compile(r"(?a)(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\w]|-\d)")
# Greedy on purpose: the country's IBAN length decides where the candidate ends (see _iban_spans).
_IBAN = re.compile(r"(?a)\b[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}")
_SSN = re.compile(r"(?a)(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)")
_SSN_BARE = re.compile(r"(?a)(?<![\w-])\d{9}(?![\w-])")
_SSN_CONTEXT = re.compile(r"(?ai)\b(?:ssn|social security|soc\.? sec)")
_IPV4 = re.compile(r"(?a)(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?a)(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"  # an IPv4 tail: ::ffff:192.0.2.1
)
_VERSION_CONTEXT = re.compile(r"(?ai)(?:\bv|version|release|build|ver\.?)\s*$")
# International: "+" then digits in groups (one separator between groups, "(0)" trunk allowed).
_PHONE_INTL = re.compile(r"(?a)(?<![\w+])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w]|[.-]\d)")
# National: trunk 0 or NANP or Indian mobile layouts, groups separated by one space, dash or dot.
_PHONE_NATIONAL = re.compile(
    r"(?a)(?<![\w+.-])(?:"
    r"\(0\d{1,4}\)[ .-]?\d{2,8}(?:[ .-]\d{2,8}){0,3}"  # (030) 1234567, (020) 7946 0958
    r"|0\d{1,4}(?:[ .-]\d{2,8}){1,4}"  # 030 12345678, 01 23 45 67 89, 07700 900123
    r"|(?:1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"  # (415) 555-2671
    r"|(?:1[ .-])?\d{3}[.-]\d{3}[.-]\d{4}"  # 415-555-2671, 415.555.2671
    r"|\d{3} \d{3} \d{4}"  # 415 555 2671
    r"|[6-9]\d{4}[ -]\d{5}"  # 98765 43210
    r")(?![\w]|[.-]\d)"
)
_PHONE_WORDS = ("phone", "tel", "call", "mobile", "cell", "whatsapp", "sms", "text me", "reach me")
# Four hex groups joined by colons: the full IPv6 form has eight, times (12:30:45) have three numbers.
_IPV6_HINT = re.compile(r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){3}")


_PHONE_BARE = re.compile(r"(?a)(?<![\w+-])\d{10,11}(?![\w-])")


def _mentions_phone(text: str) -> bool:
    return _has_phone_word(text.lower())


def _has_phone_word(lowered: str) -> bool:
    # Plain substring tests on lower-cased text: a case-insensitive regex alternation is ~20x slower.
    return any(word in lowered for word in _PHONE_WORDS)


_NOT_ASCII_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)


def _digits(text: str) -> str:
    """The ASCII digits of `text`, in order (UTF-8 never hides an ASCII digit in a multi-byte character)."""
    return text.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_DIGITS).decode("ascii")


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_shaped(candidate: str) -> bool:
    """Written like a card number: one kind of separator, in a printed card layout, or none."""
    if candidate.isdigit():
        return True
    groups = candidate.split("-" if "-" in candidate else " ")
    return all(g.isdigit() for g in groups) and rules.card_grouping_ok([len(g) for g in groups])


def card_number_ok(digits: str) -> bool:
    return rules.card_brand(digits) is not None and luhn_ok(digits)


def card_ok(candidate: str) -> bool:
    return card_shaped(candidate) and card_number_ok(_digits(candidate))


_IBAN_LETTER_VALUES = str.maketrans({chr(ord("A") + i): str(10 + i) for i in range(26)})
_IBAN_LAYOUT = re.compile(r"(?a)[A-Za-z0-9]{4}(?: [A-Za-z0-9]{4})*(?: [A-Za-z0-9]{1,4})?")


def iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if " " in candidate and not _IBAN_LAYOUT.fullmatch(candidate):
        return False
    if rules.IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not compact[4:].isalnum() or not compact.isascii():
        return False
    return int((compact[4:] + compact[:4]).translate(_IBAN_LETTER_VALUES)) % 97 == 1


def _iban_spans(text: str) -> Iterable[tuple[int, int]]:
    """IBAN-shaped spans (country code, check digits, the country's length), checksum not yet checked."""
    pos = 0
    while (m := _IBAN.search(text, pos)) is not None:
        pos = m.start() + 1  # the greedy match may run into the next IBAN: resume right after its start
        expected = rules.IBAN_LENGTHS.get(m.group()[:2].upper())
        if expected is None:
            continue
        # Where the candidate holds `expected` characters, spaces not counted.
        length = 0
        end = m.start()
        for group in m.group().split(" "):
            if length + len(group) >= expected:
                end += expected - length
                length = expected
                break
            length += len(group)
            end += len(group) + 1
        if length == expected and (end == len(text) or not text[end].isalnum()):
            pos = end
            yield m.start(), end


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return (area != "000" and area != "666" and not area.startswith("9") and group != "00" and serial != "0000"
            and area + group + serial not in rules.SSN_ADVERTISED)


def ipv4_ok(candidate: str) -> bool:
    parts = candidate.split(".")
    return all(p == "0" or (not p.startswith("0") and int(p) <= 255) for p in parts)


def ipv6_ok(candidate: str) -> bool:
    if not any(ch.isalnum() for ch in candidate) or candidate.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def phone_ok(candidate: str) -> bool:
    digits = _digits(candidate)
    if candidate.startswith("+"):
        return rules.international_number_ok(digits, trunk_zero="(0)" in candidate)
    return rules.national_number_ok(digits, candidate)


def _find_emails(text: str, found: list[Finding]) -> None:
    # Scanning outwards from each "@" is much cheaper than trying the whole pattern at every position.
    at, floor = text.find("@"), 0
    while at > 0:
        local = _EMAIL_LOCAL_BEFORE_AT.search(text, max(floor, at - 64), at)
        domain = _EMAIL_DOMAIN_AFTER_AT.match(text, at + 1) if local else None
        if local and domain:
            floor = domain.end()
            if ".." not in text[local.start():floor]:
                found.append(Finding(local.start(), floor, EMAIL_ADDRESS, 1.0))
        at = text.find("@", max(floor, at + 1))


def _find_numeric(text: str, digits: int, found: list[Finding]) -> None:
    """Card, IBAN, SSN, phone and IPv4 candidates. `digits` (how many ASCII digits the text has)
    gates the patterns cheaply: most texts are too short of digits to hold any of them."""
    ibans: list[tuple[int, int]] = []
    if digits >= 8 and len(text) >= 15:  # every IBAN carries well over 8 digits
        for start, end in _iban_spans(text):
            # A failed checksum still marks the span as an account number: not a card or phone inside it.
            found.append(Finding(start, end, IBAN_CODE, 1.0 if iban_ok(text[start:end]) else _SHAPE_ONLY))
            ibans.append((start, end))
        if found and found[0].entity_type == EMAIL_ADDRESS:
            ibans = []  # an email overlapping an IBAN would win over it: nothing inside is settled yet
    contexts: tuple[bool, bool] | None = None
    # The numeric types are made of digits and a few separators only: search them inside those
    # clusters (a window reaching two characters past, for the patterns' look-aheads) instead of
    # across the whole text. Look-behinds still see the text before a window.
    for cluster in _CLUSTER.finditer(text):
        window = cluster.group()
        count = _count_digits(window)
        dots = window.count(".")
        if count < 8 and (count < 4 or dots < 3):
            continue  # too few digits for anything but an IPv4 address, and not dotted like one
        pos, endpos = cluster.start(), min(len(text), cluster.end() + 2)
        if ibans and any(start <= pos and cluster.end() <= end for start, end in ibans):
            continue  # whatever is found inside an IBAN overlaps it, and loses to it
        if dots >= 3:
            for m in _IPV4.finditer(text, pos, endpos):
                if ipv4_ok(m.group()) and not _VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()):
                    found.append(Finding(m.start(), m.end(), IP_ADDRESS, 0.95))
        if count < 8:
            continue
        if "+" in window:
            for m in _PHONE_INTL.finditer(text, pos, endpos):
                end = _valid_phone_end(m.group())
                if end:
                    found.append(Finding(m.start(), m.start() + end, PHONE_NUMBER, 0.9))
        if count < 9:
            continue
        if contexts is None:
            lowered = text.lower()
            contexts = ("ssn" in lowered or "soc" in lowered,
                        digits >= 10 and _has_phone_word(lowered))
        ssn_context, phone_context = contexts
        separated = not window.isdigit()
        if separated:
            # The 3-2-4 layout is an SSN's, valid or not: not a phone number either way.
            for m in _SSN.finditer(text, pos, endpos):
                valid = ssn_ok(m.group(1), m.group(3), m.group(4))
                found.append(Finding(m.start(), m.end(), US_SSN, 0.85 if valid else _SHAPE_ONLY))
        if ssn_context:
            for m in _SSN_BARE.finditer(text, pos, endpos):
                s = m.group()
                if ssn_ok(s[:3], s[3:5], s[5:]) and _SSN_CONTEXT.search(text, max(0, m.start() - 40), m.start()):
                    found.append(Finding(m.start(), m.end(), US_SSN, 0.6))
        if separated:  # every national layout has a separator or parentheses
            for m in _PHONE_NATIONAL.finditer(text, pos, endpos):
                if phone_ok(m.group()):
                    found.append(Finding(m.start(), m.end(), PHONE_NUMBER, 0.75))
        if phone_context and count >= 10:
            for m in _PHONE_BARE.finditer(text, pos, endpos):
                if phone_ok(m.group()) and _mentions_phone(text[max(0, m.start() - 40):m.start()]):
                    found.append(Finding(m.start(), m.end(), PHONE_NUMBER, 0.6))
        if count >= 13:
            for m in _CARD.finditer(text, pos, endpos):
                if card_shaped(m.group()):
                    valid = card_number_ok(_digits(m.group()))
                    found.append(Finding(m.start(), m.end(), CREDIT_CARD, 1.0 if valid else _SHAPE_ONLY))
                elif " " in m.group():
                    found += _cards_in_groups(text, m.start(), cluster.end())


def _valid_phone_end(candidate: str) -> int:
    """Where a valid international number that `candidate` starts with ends: all of it, else the
    longest part before a space (a number right next to another: "+33 4 32 71 98 64 4226 1824 2598 1228").
    0: none. National layouts are too loose for this: a date or an amount next to digits would pass."""
    if phone_ok(candidate):
        return len(candidate)
    end = candidate.rfind(" ")
    while end > 0:
        if phone_ok(candidate[:end]):
            return end
        end = candidate.rfind(" ", 0, end)
    return 0


_DIGIT_GROUP = re.compile(r"(?a)\d+")
_WORD_AFTER = re.compile(r"(?a)\w|-\d")  # _CARD's look-ahead, which a match cut at endpos cannot see


def _cards_in_groups(text: str, start: int, end: int) -> list[Finding]:
    """A valid card at the start or the end of the single-space separated digit groups from `start`: a
    card candidate that swallowed digits of a neighbouring number ("5145055053757430 89.168.195.175")
    is no card shape, but its first or last groups can be. Only unbroken layouts (4-4-4-4, 4-6-5, one
    block): a short tail or a run in the middle of many groups passes Luhn by chance too often."""
    groups: list[tuple[int, int]] = []
    for m in _DIGIT_GROUP.finditer(text, start, end):
        if groups and (m.start() != groups[-1][1] + 1 or text[groups[-1][1]] != " "):
            break
        groups.append((m.start(), m.end()))

    def card(first: int, last: int) -> Finding | None:
        lengths = [groups[k][1] - groups[k][0] for k in range(first, last + 1)]
        if len(lengths) > 1 and (lengths[0] != 4 or not all(4 <= n <= 6 for n in lengths[1:])):
            return None
        begin, stop = groups[first][0], groups[last][1]
        if (_CARD.fullmatch(text, begin, stop) and not _WORD_AFTER.match(text, stop)
                and card_shaped(text[begin:stop]) and card_number_ok(_digits(text[begin:stop]))):
            return Finding(begin, stop, CREDIT_CARD, 1.0)
        return None

    last = len(groups) - 1
    prefix = next((f for j in range(last - 1, -1, -1) if (f := card(0, j))), None)
    suffix = next((f for i in range(1, last + 1) if (f := card(i, last))), None)
    if prefix and suffix and suffix.start < prefix.end:
        suffix = None
    return [f for f in (prefix, suffix) if f]

def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the best of overlapping findings: the more specific type, then the longer span. Shapes
    that failed their checksum take part (they block what overlaps them) but are not reported."""
    findings.sort(key=lambda f: (_PRIORITY[f.entity_type], -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in findings:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    return [f for f in kept if f.score != _SHAPE_ONLY]


def is_valid(entity_type: str, value: str) -> bool:
    """Whether a structured field's whole value is a valid value of `entity_type` (checksums,
    numbering rules and ranges included): an email field holds one email address, and so on."""
    if entity_type == EMAIL_ADDRESS:
        return bool(_EMAIL.fullmatch(value)) and ".." not in value
    if entity_type == CREDIT_CARD:
        return bool(_CARD.fullmatch(value)) and card_ok(value)
    if entity_type == IBAN_CODE:
        return iban_ok(value)
    if entity_type == IP_ADDRESS:
        return ipv4_ok(value) if _IPV4.fullmatch(value) else ipv6_ok(value)
    if entity_type in ENTITY_TYPES:  # phone numbers and SSNs: found whole by the scanner
        return any(f.entity_type == entity_type and f.start == 0 and f.end == len(value) for f in detect(value))
    raise ValueError(f"unknown PII entity type {entity_type!r}; expected one of {', '.join(ENTITY_TYPES)}")


def detect(text: str) -> list[Finding]:
    """Every PII finding in `text`, ordered by position, without overlaps."""
    digits = _count_digits(text)
    found: list[Finding] = []
    if "@" in text:
        _find_emails(text, found)
    if ":" in text and ("::" in text or (text.count(":") >= 7 and _IPV6_HINT.search(text))):
        for m in _IPV6.finditer(text):
            if ipv6_ok(m.group()):
                found.append(Finding(m.start(), m.end(), IP_ADDRESS, 0.95))
    if digits >= 4:
        _find_numeric(text, digits, found)
    if len(found) < 2:
        return found if not found or found[0].score != _SHAPE_ONLY else []
    return _resolve_overlaps(found)


_ASCII_DIGITS = b"0123456789"


def _count_digits(text: str) -> int:
    # bytes.translate is many times faster than str.translate; UTF-8 never hides an ASCII digit
    # inside a multi-byte character, so the count is exact.
    encoded = text.encode("utf-8", "surrogatepass")
    return len(encoded) - len(encoded.translate(None, _ASCII_DIGITS))


_CLUSTER = re.compile(r"(?a)[0-9+(][0-9 ().+-]{5,}[0-9)]")


def detect_batch(texts: Sequence[str | None]) -> list[list[Finding]]:
    """`detect` over many texts (None gives no findings): one call per batch for vectorised UDFs."""
    return [detect(t) if t else [] for t in texts]

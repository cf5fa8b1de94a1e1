"""A labelled PII corpus: support-style texts with known PII spans and look-alikes that are not PII
(order numbers, tracking ids, dates, times, amounts, UUIDs, versions, numbers failing their
checksum). Values are built from their definitions (check digits computed here, numbering plans
written out), not with the detector's own code, so the corpus can disagree with the detector.

`build(n, seed)` is deterministic; `HAND_LABELLED` adds sentences written by hand. The test set is
frozen in tests/data/pii/corpus.jsonl (`build(3000, seed=7)`, checksum in tests/data/SHA256SUMS):
`load()` reads it. `python -m bench.corpus --write` writes it again, for a new test set only, never
after tuning the detector on it."""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

Span = tuple[int, int, str]
FROZEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "pii" / "corpus.jsonl"
FROZEN_SIZE, FROZEN_SEED = 3000, 7


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[Span, ...]


def _luhn_complete(prefix_and_body: str) -> str:
    """Append the Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(prefix_and_body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix_and_body + str((10 - total % 10) % 10)


def _card(rng: random.Random, valid: bool = True) -> str:
    prefix, length, groups = rng.choice([
        ("4", 16, (4, 4, 4, 4)), ("51", 16, (4, 4, 4, 4)), ("55", 16, (4, 4, 4, 4)), ("2221", 16, (4, 4, 4, 4)),
        ("34", 15, (4, 6, 5)), ("37", 15, (4, 6, 5)), ("6011", 16, (4, 4, 4, 4)), ("65", 16, (4, 4, 4, 4)),
        ("3530", 16, (4, 4, 4, 4)), ("36", 14, (4, 6, 4)),
    ])
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    number = _luhn_complete(body)
    if not valid:
        number = number[:-1] + str((int(number[-1]) + rng.randrange(1, 10)) % 10)
    sep = rng.choice(["", " ", "-"])
    if not sep:
        return number
    out, i = [], 0
    for g in groups:
        out.append(number[i:i + g])
        i += g
    return sep.join(out)


_BBAN = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "NL": "4a10n", "ES": "20n", "IT": "1a10n12c", "BE": "12n"}


def _iban(rng: random.Random, valid: bool = True) -> str:
    country = rng.choice(list(_BBAN))
    bban = ""
    for count, kind in ((int(part[:-1]), part[-1]) for part in _split_format(_BBAN[country])):
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
        bban += "".join(rng.choice(alphabet[kind]) for _ in range(count))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randrange(1, 90)) % 97 or 1
    iban = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    return iban


def _split_format(fmt: str) -> list[str]:
    parts, current = [], ""
    for ch in fmt:
        current += ch
        if ch.isalpha():
            parts.append(current)
            current = ""
    return parts


def _ssn(rng: random.Random, valid: bool = True) -> str:
    if valid:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        group, serial = rng.randrange(1, 100), rng.randrange(1, 10000)
    else:
        area = rng.choice([0, 666, rng.randrange(900, 1000)])
        group, serial = rng.randrange(1, 100), rng.randrange(1, 10000)
    return f"{area:03d}-{group:02d}-{serial:04d}"


def _phone(rng: random.Random) -> str:
    kind = rng.randrange(12)
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    # NANP area codes and exchanges are NXX with no N11 (411, 911 ... are service codes).
    nxx = lambda: rng.choice([c for c in (str(rng.randrange(200, 1000)) for _ in range(3)) if c[1:] != "11"] or ["555"])  # noqa: E731
    if kind == 0:
        return f"({nxx()}) {nxx()}-{d(4)}"
    if kind == 1:
        return f"{nxx()}-{nxx()}-{d(4)}"
    if kind == 2:
        return f"+1 {nxx()} {nxx()} {d(4)}"
    if kind == 3:
        return f"020 7{d(3)} {d(4)}"
    if kind == 4:
        return f"07{rng.randrange(400, 1000)} {d(6)}"
    if kind == 5:
        return f"+44 20 7{d(3)} {d(4)}"
    if kind == 6:
        return f"030 {d(8)}"
    if kind == 7:
        return f"+49 15{d(1)} {d(8)}"
    if kind == 8:
        return f"0{rng.randrange(1, 8)} {d(2)} {d(2)} {d(2)} {d(2)}"
    if kind == 9:
        return f"+33 {rng.randrange(1, 8)} {d(2)} {d(2)} {d(2)} {d(2)}"
    if kind == 10:
        return f"+91 {rng.randrange(6, 10)}{d(4)} {d(5)}"
    code, national_length = rng.choice([("49", 10), ("49", 11), ("44", 10), ("33", 9), ("34", 9), ("31", 9)])
    return f"+{code}{rng.randrange(1, 10)}{d(national_length - 1)}"


def _email(rng: random.Random) -> str:
    first = rng.choice(["anna", "ben", "chloe", "d.okafor", "elif_yilmaz", "f.martin", "grace+shop", "hiro99"])
    domain = rng.choice(["example.com", "mail.example.org", "shop.co.uk", "uni-berlin.de", "example.fr"])
    return f"{first}@{domain}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    groups = [f"{rng.randrange(0, 65536):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return f"2001:db8::{groups[6]}:{groups[7]}"
    return ":".join(groups)


POSITIVE = {
    "EMAIL_ADDRESS": _email,
    "PHONE_NUMBER": _phone,
    "CREDIT_CARD": _card,
    "IBAN_CODE": _iban,
    "US_SSN": _ssn,
    "IP_ADDRESS": _ip,
}


def _decoy(rng: random.Random) -> str:
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    return rng.choice([
        lambda: f"ORD-{d(8)}",
        lambda: f"#{d(7)}",
        lambda: f"1Z{d(3)}AA{d(10)}",
        lambda: f"{rng.randrange(2000, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        lambda: f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.{rng.randrange(2000, 2030)}",
        lambda: f"{rng.randrange(1, 13)}/{rng.randrange(1, 29)}/{rng.randrange(2000, 2030)}",
        lambda: f"{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}:{rng.randrange(0, 60):02d}",
        lambda: f"{rng.randrange(1, 5000)},{d(2)} EUR",
        lambda: f"${rng.randrange(1, 99)},{d(3)}.{d(2)}",
        lambda: f"{d(8)}-{d(4)}-4{d(3)}-a{d(3)}-{d(12)}".replace("-4", "-4", 1),
        lambda: f"v{rng.randrange(1, 20)}.{rng.randrange(0, 20)}.{rng.randrange(0, 20)}",
        lambda: f"version {rng.randrange(1, 9)}.{rng.randrange(0, 9)}.{rng.randrange(0, 9)}.{rng.randrange(0, 99)}",
        lambda: _card(rng, valid=False),
        lambda: _iban(rng, valid=False),
        lambda: _ssn(rng, valid=False),
        lambda: f"{rng.randrange(256, 999)}.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}",
        lambda: f"SKU-{d(4)}",
        lambda: f"{d(5)}",
        lambda: f"ticket {d(6)}",
    ])()


TEMPLATES = (
    "Hi, this is about order {decoy}. Please contact me at {pii}.",
    "My details: {pii} (reference {decoy})",
    "{pii} is my new one, the old one no longer works. Delivery was {decoy}.",
    "Hallo, bitte überweisen Sie an {pii}. Rechnung {decoy}.",
    "Bonjour, vous pouvez me joindre au {pii}. Commande {decoy}.",
    "Payment failed for {decoy}; I used {pii}.",
    "Login from {pii} at {decoy}, was that me?",
    "Please update my profile with {pii} thanks",
    "Nothing personal here, just {decoy} and {decoy2}.",
)


def build(n: int = 2000, seed: int = 1234) -> list[Sample]:
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        template = rng.choice(TEMPLATES)
        entity = rng.choice(list(POSITIVE))
        value = POSITIVE[entity](rng)
        text, spans = "", []
        rest = template
        while "{" in rest:
            before, _, after = rest.partition("{")
            slot, _, rest = after.partition("}")
            text += before
            filler = value if slot == "pii" else _decoy(rng)
            if slot == "pii":
                spans.append((len(text), len(text) + len(filler), entity))
            text += filler
        text += rest
        samples.append(Sample(text, tuple(spans)))
    return samples + HAND_LABELLED


def _hand(text: str, *values: tuple[str, str]) -> Sample:
    spans = []
    for value, entity in values:
        start = text.index(value)
        spans.append((start, start + len(value), entity))
    return Sample(text, tuple(spans))


HAND_LABELLED = [
    _hand("Call me on +49 (0)30 1234 5678 or mail jonas.novak@example.de",
          ("+49 (0)30 1234 5678", "PHONE_NUMBER"), ("jonas.novak@example.de", "EMAIL_ADDRESS")),
    _hand("Card 4111-1111-1111-1111 was charged twice for ORD-55512345",
          ("4111-1111-1111-1111", "CREDIT_CARD")),
    _hand("My SSN is 536-22-8726 and my phone 212-555-0199",
          ("536-22-8726", "US_SSN"), ("212-555-0199", "PHONE_NUMBER")),
    _hand("Server logs show ::ffff:192.0.2.33 and 10.0.0.7 at 10:45:12", ("::ffff:192.0.2.33", "IP_ADDRESS"),
          ("10.0.0.7", "IP_ADDRESS")),
    _hand("Upgrade from 1.2.3 to 2.0.0.1 failed, build 20240115", ),
    _hand("The UUID 550e8400-e29b-41d4-a716-446655440000 is in ticket 1234567890123"),
    _hand("Refund 1,299.00 EUR to IBAN GB82 WEST 1234 5698 7654 32 please",
          ("GB82 WEST 1234 5698 7654 32", "IBAN_CODE")),
    _hand("Tracking 1Z999AA10123456784 arrived 2024-03-01 14:22"),
    _hand("Ring me: 07700 900461, or the office 0161 496 0000", ("07700 900461", "PHONE_NUMBER"),
          ("0161 496 0000", "PHONE_NUMBER")),
    _hand("Numéro: 06 12 34 56 78", ("06 12 34 56 78", "PHONE_NUMBER")),
    _hand("WhatsApp +91 98765 43210 for delivery", ("+91 98765 43210", "PHONE_NUMBER")),
    _hand("Order total 4111111111111112 is not a card (bad checksum)"),
    _hand("Invoice DE89370400440532013001 has a wrong check"),
    _hand("Lot 000-12-3456 and 666-12-3456 are not SSNs"),
    _hand("IP 300.1.2.3 is invalid, 192.168.001.001 too"),
    # Numbers a single space apart: neither may swallow the other's digits.
    _hand("card 5145055053757430 89.168.195.175", ("5145055053757430", "CREDIT_CARD"),
          ("89.168.195.175", "IP_ADDRESS")),
    _hand("+33 4 32 71 98 64 4226 1824 2598 1228", ("+33 4 32 71 98 64", "PHONE_NUMBER"),
          ("4226 1824 2598 1228", "CREDIT_CARD")),
    _hand("Declined from 203.0.113.7 4111111111111111 twice", ("203.0.113.7", "IP_ADDRESS"),
          ("4111111111111111", "CREDIT_CARD")),
    _hand("WhatsApp +49 151 23456789 5500 0000 0000 0004 card", ("+49 151 23456789", "PHONE_NUMBER"),
          ("5500 0000 0000 0004", "CREDIT_CARD")),
    _hand("Numéro 06 12 34 56 78 3782 822463 10005", ("06 12 34 56 78", "PHONE_NUMBER"),
          ("3782 822463 10005", "CREDIT_CARD")),
    _hand("Logged in from 198.51.100.23 with card 4000012345678905 10.0.0.7", ("198.51.100.23", "IP_ADDRESS"),
          ("4000012345678905", "CREDIT_CARD"), ("10.0.0.7", "IP_ADDRESS")),
    _hand("IBAN DE89 3704 0044 0532 0130 00 5555 5555 5555 4444 both mine",
          ("DE89 3704 0044 0532 0130 00", "IBAN_CODE"), ("5555 5555 5555 4444", "CREDIT_CARD")),
]


def load(path: Path = FROZEN) -> list[Sample]:
    """The frozen test set: one JSON object per line, {"text": ..., "spans": [[start, end, type], ...]}."""
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        samples.append(Sample(item["text"], tuple((start, end, kind) for start, end, kind in item["spans"])))
    return samples


def write(path: Path = FROZEN) -> None:
    with path.open("w", encoding="utf-8") as out:
        for sample in build(FROZEN_SIZE, seed=FROZEN_SEED):
            out.write(json.dumps({"text": sample.text, "spans": [list(span) for span in sample.spans]},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {FROZEN} (a new test set only)")
    if parser.parse_args().write:
        write()
        print(f"wrote {FROZEN}: update its line in tests/data/SHA256SUMS")

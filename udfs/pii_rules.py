"""Reference data and numbering rules behind PII validation: card brands, IBAN lengths, calling
codes and national phone layouts. Data, not logic: kept apart so `pii.py` reads as the algorithm."""

from __future__ import annotations

# Country -> IBAN length (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

# Numbers published as examples (Woolworth's wallet card and others): never a real person's SSN.
SSN_ADVERTISED = frozenset({"078051120", "219099999", "457555462"})

# (brand, prefixes as (low, high) inclusive ranges over the leading digits, allowed lengths)
_CARD_BRANDS: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[int]], ...] = (
    ("visa", (("4", "4"),), frozenset({13, 16, 19})),
    ("mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    ("amex", (("34", "34"), ("37", "37")), frozenset({15})),
    ("discover", (("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")), frozenset(range(16, 20))),
    ("jcb", (("3528", "3589"),), frozenset(range(16, 20))),
    ("diners", (("300", "305"), ("309", "309"), ("36", "36"), ("38", "39")), frozenset(range(14, 20))),
    ("unionpay", (("62", "62"),), frozenset(range(16, 20))),
    ("maestro", (("5018", "5018"), ("5020", "5020"), ("5038", "5038"), ("5893", "5893"), ("6304", "6304"),
                 ("6759", "6759"), ("6761", "6763")), frozenset(range(12, 20))),
    ("mir", (("2200", "2204"),), frozenset(range(16, 20))),
)


def card_brand(digits: str) -> str | None:
    for brand, ranges, lengths in _CARD_BRANDS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            if low <= digits[: len(low)] <= high:
                return brand
    return None


def card_grouping_ok(groups: list[int]) -> bool:
    """Printed card layouts: 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3 ... (first group of 4)."""
    return len(groups) >= 3 and groups[0] == 4 and all(4 <= g <= 6 for g in groups[1:-1]) and 1 <= groups[-1] <= 6


# ITU-T E.164 country calling codes.
_CALLING_CODES_2 = frozenset({
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
    "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98",
})
_CALLING_CODES_3 = frozenset(
    ["211", "212", "213", "216", "218"]
    + [str(c) for c in range(220, 259) if c != 259]
    + [str(c) for c in range(260, 270)]
    + ["290", "291", "297", "298", "299"]
    + [str(c) for c in range(350, 360)]
    + [str(c) for c in range(370, 379)] + ["380", "381", "382", "383", "385", "386", "387", "389"]
    + ["420", "421", "423"]
    + [str(c) for c in range(500, 510)]
    + [str(c) for c in range(590, 600)]
    + ["670"] + [str(c) for c in range(672, 693)]
    + ["800", "808", "850", "852", "853", "855", "856", "870", "878", "880", "881", "882", "883", "886", "888"]
    + [str(c) for c in range(960, 969)] + [str(c) for c in range(970, 978)]
    + [str(c) for c in range(992, 999)]
)


def split_calling_code(digits: str) -> tuple[str, str] | None:
    if digits[:1] in ("1", "7"):
        return digits[:1], digits[1:]
    if digits[:2] in _CALLING_CODES_2:
        return digits[:2], digits[2:]
    if digits[:3] in _CALLING_CODES_3:
        return digits[:3], digits[3:]
    return None


def nanp_ok(national: str) -> bool:
    """North American numbering plan: NXX-NXX-XXXX, no N11 area codes."""
    return (len(national) == 10 and national[0] >= "2" and national[3] >= "2"
            and national[1:3] != "11" and national[4:6] != "11")


# National significant number lengths (without the trunk 0) per calling code.
_NATIONAL_LENGTHS = {
    "44": range(9, 11),  # UK
    "49": range(6, 14),  # Germany
    "33": range(9, 10),  # France
    "91": range(10, 11),  # India
}


def international_number_ok(digits: str, trunk_zero: bool = False) -> bool:
    if not 8 <= len(digits) <= 15:
        return False
    split = split_calling_code(digits)
    if split is None:
        return False
    code, national = split
    if trunk_zero and national.startswith("0"):
        national = national[1:]
    if not national or national[0] == "0":
        return False
    if code == "1":
        return nanp_ok(national)
    lengths = _NATIONAL_LENGTHS.get(code)
    if lengths is not None:
        return len(national) in lengths
    return 4 <= len(national) <= 14


def national_number_ok(digits: str, written: str) -> bool:
    """A number written the national way (no "+"): trunk-0 (UK, DE, FR, IN), NANP or Indian mobile."""
    if digits.startswith("0"):
        return digits[1] != "0" and 9 <= len(digits) <= 13
    if len(digits) == 11 and digits[0] == "1":
        return nanp_ok(digits[1:])
    if len(digits) != 10:
        return False
    groups = [g for g in written.replace("(", " ").replace(")", " ").replace("-", " ").replace(".", " ").split() if g]
    if [len(g) for g in groups] in ([5, 5], [10]) and digits[0] in "6789":
        return True  # Indian mobile
    return nanp_ok(digits)

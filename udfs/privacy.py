"""Privacy intents in support-message text: erasure, access, rectification, opt-out of sale/sharing/
marketing, unsubscribe, or none. Rule and lexicon based (udfs/rules/privacy_intents.toml), for
English, German, French and Spanish: fast, explainable, nothing downloaded at run time.

Pure and standard library only; the Flink job calls it through udfs.records.check_event."""

from __future__ import annotations

import re
import re._parser as sre_parse  # the parse tree _needs reads (Python 3.11+, as tomllib)
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomllib

RULES_FILE = Path(__file__).resolve().parent / "rules" / "privacy_intents.toml"
INTENTS = ("ERASURE", "ACCESS", "RECTIFICATION", "OPT_OUT", "UNSUBSCRIBE")
NONE = "NONE"
# Days a controller has to answer (GDPR art. 12(3): one month; 30 days is the stricter reading).
RESPONSE_DAYS = 30
# The requests the streaming job carries out itself: the purposes each withdraws consent for (gold.consent
# and the compacted `consent` topic). An opt-out is honoured for every purpose (the message says which
# only in words: objecting to "my data being used" covers marketing as well as sale and profiling);
# unsubscribing stops marketing email only.
PURPOSES = ("marketing_email", "sale_sharing", "profiling")
WITHDRAWS = {"OPT_OUT": PURPOSES, "UNSUBSCRIBE": ("marketing_email",)}

_MACRO = re.compile(r"<([a-z_]+)>")
_SPACES = re.compile(r"[^\S\n]+")
_SENTENCE_END = re.compile(r"[.!?;\n]+(?:\s+|$)|\s+-\s+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'", "\u201c": '"', "\u201d": '"',
                         "\u00ab": '"', "\u00bb": '"', "\u00a0": " ", "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True, slots=True)
class Intent:
    label: str
    confidence: float
    by: str = ""  # what decided it: "rule:<intent>.<n>" (the n-th pattern of the intent), or "model:<version>"


@dataclass(frozen=True, slots=True)
class _Pattern:
    weight: float
    regex: re.Pattern[str]
    rule_id: str = ""


@dataclass(frozen=True, slots=True)
class _IntentRules:
    label: str
    patterns: tuple[_Pattern, ...]
    block: tuple[re.Pattern[str], ...]
    # Text that every match of one of `patterns` contains (see _gate): a sentence without it has no hit.
    gate: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Lexicon:
    intents: tuple[_IntentRules, ...]
    threshold: float
    corroboration: float


def _expand(pattern: str, macros: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"{RULES_FILE.name}: unknown macro <{name}> in {pattern!r}")
        return macros[name]

    return _MACRO.sub(replace, pattern)


_Needs = frozenset[str] | None  # one of these strings is in every match; None: nothing known


def _needs(items: Any) -> _Needs:
    """Strings one of which every match of the parsed sequence `items` contains: its literal runs,
    and what a group, alternation or repetition (at least once) inside it needs; the most selective."""
    candidates: list[frozenset[str]] = []
    run = ""
    for op, arg in items:
        if op is sre_parse.LITERAL:
            run += chr(arg)
            continue
        if run:
            candidates.append(frozenset((run,)))
            run = ""
        needed: _Needs = None
        if op is sre_parse.SUBPATTERN:
            needed = _needs(arg[3])
        elif op is sre_parse.BRANCH:
            alternatives = [_needs(alternative) for alternative in arg[1]]
            if all(a is not None for a in alternatives):
                needed = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and arg[0] >= 1:
            needed = _needs(arg[2])
        elif op is sre_parse.IN and all(kind is sre_parse.LITERAL for kind, _ in arg):
            needed = frozenset(chr(code) for _, code in arg)
        if needed:
            candidates.append(needed)
    if run:
        candidates.append(frozenset((run,)))
    # Short words are in most sentences: the most selective set has long strings, then few of them.
    return min(candidates, key=lambda c: (-min(5, *(len(t.strip()) for t in c)), len(c)), default=None)


def _gate(patterns: tuple[_Pattern, ...]) -> re.Pattern[str] | None:
    """One search that fails wherever all of `patterns` would: most sentences name none of an
    intent's words, and one literal alternation costs a fraction of a hundred pattern searches."""
    needed: set[str] = set()
    for pattern in patterns:
        if pattern.regex.flags & (re.IGNORECASE | re.VERBOSE):
            return None
        found = _needs(sre_parse.parse(pattern.regex.pattern))
        if found is None:
            return None
        needed |= found
    return re.compile("|".join(re.escape(text) for text in sorted(needed)))


@lru_cache(maxsize=4)
def load_lexicon(path: Path = RULES_FILE) -> Lexicon:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    macros: dict[str, str] = {}
    for name, body in raw["macros"].items():  # in file order: a macro may use the ones before it
        macros[name] = _expand(body, macros)
    unknown = set(raw["intents"]) - set(INTENTS)
    if unknown:
        raise ValueError(f"{path.name}: unknown intents {sorted(unknown)}; known: {', '.join(INTENTS)}")
    intents = []
    for label, spec in raw["intents"].items():
        patterns = tuple(_Pattern(float(p["w"]), re.compile(_expand(p["re"], macros)), f"{label}.{n}")
                         for n, p in enumerate(spec["patterns"], start=1))
        block = tuple(re.compile(_expand(b, macros)) for b in spec.get("block", ()))
        intents.append(_IntentRules(label, patterns, block, _gate(patterns)))
    return Lexicon(tuple(intents), float(raw["threshold"]), float(raw["corroboration"]))


def normalise(text: str) -> str:
    """Case folded, accents removed, plain quotes, single spaces: the form the patterns are written for."""
    folded = unicodedata.normalize("NFKD", text.translate(_QUOTES).casefold())
    # No ASCII character is a combining mark: most texts need no pass over their characters.
    plain = folded if folded.isascii() else "".join(c for c in folded if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain)


def sentences(text: str) -> list[str]:
    return _split(normalise(text))


def _split(normalised: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(normalised) if s.strip()]


def _scores(text: str, lexicon: Lexicon) -> tuple[list[Intent], bool]:
    """The intents found, and whether a pattern hit only where a block pattern also matched."""
    normalised = normalise(text)
    parts = _split(normalised)
    found, blocked = [], False
    for rules in lexicon.intents:
        weights = []
        # Every sentence is a piece of the normalised text: no gate text in it, none in a sentence.
        if rules.gate is not None and rules.gate.search(normalised) is None:
            continue
        for sentence in parts:
            if rules.gate is not None and rules.gate.search(sentence) is None:
                continue
            hits = [(p.weight, p.rule_id) for p in rules.patterns if p.regex.search(sentence)]
            if hits and any(b.search(sentence) for b in rules.block):
                blocked = True
            elif hits:
                weights += hits
        best, rule_id = max(weights, default=(0.0, ""))
        if best >= lexicon.threshold:
            confidence = min(0.99, best + lexicon.corroboration * (len(weights) - 1))
            found.append(Intent(rules.label, round(confidence, 2), f"rule:{rule_id}"))
    return sorted(found, key=lambda intent: -intent.confidence), blocked


def assess(text: str | None, lexicon: Lexicon | None = None) -> tuple[list[Intent], bool]:
    """The intents found, strongest first, and whether a request phrase was there but negated or blocked
    ("please don't delete my account", "I deleted it by accident")."""
    return _scores(text, lexicon or load_lexicon()) if text else ([], False)


def classify(text: str | None, lexicon: Lexicon | None = None) -> list[Intent]:
    """Every privacy intent the text expresses, strongest first; empty when it expresses none."""
    return assess(text, lexicon)[0]


def primary(text: str | None, lexicon: Lexicon | None = None) -> Intent:
    """The strongest intent; else NONE, less sure (0.6) where a request phrase was negated or blocked."""
    intents, blocked = assess(text, lexicon)
    return intents[0] if intents else Intent(NONE, 0.6 if blocked else 0.95)

"""The privacy-intent classifier (udfs.privacy): its scores on the labelled sets, the behaviours that
matter (negation, several intents, the four languages), and its use in check_event."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.privacy_eval import LABELS, evaluate, load
from flowlake.generate import SUPPORT_TEXTS, privacy_intents
from udfs import privacy
from udfs.masking import HASH_KEY_ENV, hash_token
from udfs.privacy import Intent, classify, normalise, primary
from udfs.records import USER_ID, check_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def labels(text: str) -> set[str]:
    return {intent.label for intent in classify(text)}


@pytest.mark.parametrize(("name", "floor"), [("dev", 0.95), ("holdout", 0.9)])
def test_precision_and_recall_per_label_on_the_labelled_sets(name: str, floor: float) -> None:
    """dev.tsv is what the lexicon was tuned on; holdout.tsv was written before tuning."""
    messages = load(name)
    assert {m.language for m in messages} == {"en", "de", "fr", "es"}
    scores = evaluate(messages)
    for label in LABELS:
        score = scores[label]
        assert score.tp + score.fn >= 5, f"{name}: too few {label} messages to measure"
        assert score.precision >= floor and score.recall >= floor, (label, score.errors)


@pytest.mark.parametrize(("text", "expected"), [
    ("Please delete my account and all my data.", {"ERASURE"}),
    ("I accidentally deleted my account, can you restore it?", set()),
    ("Please don't delete my account, I need it for the warranty.", set()),
    ("I deleted the app but still get emails", {"UNSUBSCRIBE"}),
    ("How do I remove an item from my cart?", set()),
    ("Do you sell my data?", set()),
    ("Cancel my subscription to the premium plan.", set()),
    ("Can you send me a copy of my invoice?", set()),
    ("First send me a copy of my data, then delete my account.", {"ACCESS", "ERASURE"}),
    ("Bitte löschen Sie mein Konto.", {"ERASURE"}),
    ("BITTE LOESCHEN SIE MEIN KONTO", {"ERASURE"}),
    ("Je m\u2019oppose au traitement de mes données.", {"OPT_OUT"}),
    ("Mi dirección está mal, corríjanla por favor.", {"RECTIFICATION"}),
])
def test_intents(text: str, expected: set[str]) -> None:
    assert labels(text) == expected


def test_confidence_and_the_strongest_intent_first() -> None:
    intents = classify("Under GDPR article 17, erase all my data. Also unsubscribe me.")
    assert [i.label for i in intents] == ["ERASURE", "UNSUBSCRIBE"]
    assert all(0.5 <= i.confidence <= 0.99 for i in intents)
    assert intents[0].confidence > 0.9  # two erasure phrases corroborate each other
    assert primary("Where is my parcel?") == Intent(privacy.NONE, 0.95)
    assert primary("Please do not delete my data").label == privacy.NONE
    assert primary("Please do not delete my data").confidence < 0.95  # a request phrase, negated
    assert classify(None) == [] and classify("") == []


def test_normalise_folds_case_accents_quotes_and_spaces() -> None:
    assert normalise("Löschen  Sie\tDONNÉES \u2019Straße\u2019") == "loschen sie donnees 'strasse'"


def test_every_generated_support_message_expresses_the_intents_it_was_written_with() -> None:
    """The medallion tests expect exactly these requests in gold.privacy_requests."""
    assert any(intents for _, intents in SUPPORT_TEXTS) and any(not intents for _, intents in SUPPORT_TEXTS)
    for template, intents in SUPPORT_TEXTS:
        message = template.format(order="ORD-12345678", email="anna.schmidt12@example.com", phone="+4915123456789")
        assert labels(message) == set(intents), message
        assert privacy_intents(message) == intents


def test_a_lexicon_with_an_unknown_macro_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "intents.toml"
    bad.write_text("threshold = 0.5\ncorroboration = 0.02\n[macros]\n"
                   "[intents.ERASURE]\npatterns = [{ w = 0.9, re = 'delete <nope>' }]\n")
    with pytest.raises(ValueError, match="unknown macro <nope>"):
        privacy.load_lexicon(bad)


def test_long_hostile_text_is_classified_without_error() -> None:
    text = ("delete " * 2000) + ("my " * 2000) + "account? " + "ä" * 5000
    assert labels(text) <= set(privacy.INTENTS)


def _support(message: str, user_id: str = "U00042") -> bytes:
    return json.dumps({"event_id": "7d3f5a52-8c1e-4b7e-9a53-2f4f1c3e9b10", "event_type": "support_message",
                       "event_time": "2026-11-30T11:59:00.000Z", "user_id": user_id, "country": "DE",
                       "channel": "email", "message": message}).encode()


def test_check_event_classifies_support_messages_and_tokenises_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, "test-key")
    checked = check_event(_support("Please delete my account. Mail me at anna@example.com"), NOW)
    assert checked.valid and len(checked.privacy) == 1
    assert re.fullmatch(r"ERASURE:0\.92:rule:ERASURE\.\d+", checked.privacy[0])  # intent, confidence, decided by

    assert checked.user_token == hash_token("U00042", USER_ID, b"test-key")
    assert "anna@example.com" not in (checked.record or "")  # classified on the raw text, stored masked
    plain = check_event(_support("Where is my parcel?"), NOW)
    assert plain.valid and plain.privacy == [] and plain.user_token is None


def test_the_gate_only_skips_sentences_no_pattern_matches() -> None:
    """Each intent's gate (literal text every match of its patterns contains) changes no result."""
    from dataclasses import replace

    lexicon = privacy.load_lexicon()
    assert all(rules.gate is not None for rules in lexicon.intents)
    ungated = replace(lexicon, intents=tuple(replace(rules, gate=None) for rules in lexicon.intents))
    texts = [m.text for name in ("dev", "holdout") for m in load(name)]
    texts += [template for template, _ in SUPPORT_TEXTS]
    for text in texts:
        for sentence in privacy.sentences(text):
            for rules in lexicon.intents:
                if any(p.regex.search(sentence) for p in rules.patterns):
                    assert rules.gate is not None and rules.gate.search(sentence), (rules.label, sentence)
        assert privacy._scores(text, lexicon) == privacy._scores(text, ungated)

"""The learned privacy-intent model (udfs.privacy_model) and its combination with the rules: the
weights load from the package, scoring is deterministic, and the behaviours that matter hold on
messages written for these tests (not from any labelled set): negations, questions about the
policy, near misses, the four languages, and each decision says what made it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from udfs.privacy import INTENTS
from udfs.privacy_model import MODEL_FILE, STRONG_RULE, decide, features, load_model


def labels(text: str) -> set[str]:
    return {intent.label for intent in decide(text)}


def test_the_weights_ship_in_the_package_and_name_their_training() -> None:
    model = load_model()
    assert MODEL_FILE.is_relative_to(MODEL_FILE.parents[1]) and MODEL_FILE.parent.name == "models"
    assert model.intents == INTENTS and re.fullmatch(r"lr-[0-9a-f]{12}", model.version)
    assert all(0 < t < 1 for t in model.thresholds) and len(model.weights) > 10_000


def test_features_are_words_word_pairs_and_character_grams_of_the_normalised_text() -> None:
    found = features("Löschen Sie MEIN Konto")
    assert {"w:loschen", "w:mein", "p:loschen sie", "p:mein konto", "c: lo", "c:onto ", "c:kont"} <= found
    assert features("loschen sie mein konto") == found  # case and accents do not matter
    assert features("") == set()


def test_scoring_is_deterministic_and_a_probability() -> None:
    model = load_model()
    first = model.probabilities("Please erase everything you store about me")
    assert first == model.probabilities("Please erase everything you store about me")
    assert set(first) == set(INTENTS) and all(0 < p < 1 for p in first.values())


@pytest.mark.parametrize(("text", "expected"), [
    ("Please wipe my profile and every bit of personal info you keep on me.", {"ERASURE"}),
    ("Bitte entfernen Sie mein Profil samt aller gespeicherten persönlichen Angaben.", {"ERASURE"}),
    ("Je veux que vous effaciez mon profil et toutes mes informations personnelles.", {"ERASURE"}),
    ("Necesito que eliminen mi perfil y toda mi información personal.", {"ERASURE"}),
    ("Stop showing me ads based on what I browse and buy.", {"OPT_OUT"}),
    ("My surname on the customer record is wrong, it is Fernández, not Fernandes.", {"RECTIFICATION"}),
    ("No more promotional texts to my phone please.", {"UNSUBSCRIBE"}),
])
def test_requests_in_words_no_rule_lists_are_found(text: str, expected: set[str]) -> None:
    # Found, though not always alone: erasure requests that name "all my personal data" also score
    # ACCESS (a known weakness of this model, see docs/benchmarks.md).
    assert expected <= labels(text)


@pytest.mark.parametrize("text", [
    "Please do not delete my account, I still need my warranty documents.",
    "How long do you keep my data after I close my account?",
    "Do you sell customer data to advertisers?",
    "I unsubscribed from the newsletter by accident, can you sign me up again?",
    "Can I change the delivery address for my order ORD-12345678? It has not shipped yet.",
    "Wie lange speichern Sie meine Daten?",
    "My parcel is two weeks late, where is it?",
])
def test_negations_policy_questions_and_near_misses_are_no_request(text: str) -> None:
    assert labels(text) == set()


def test_each_decision_says_what_made_it() -> None:
    model = load_model()
    decided = decide("Please delete my account and all my personal data, and stop using my data for ads.")
    by = {intent.label: intent.by for intent in decided}
    assert re.fullmatch(r"rule:ERASURE\.\d+", by["ERASURE"])  # a sure rule hit stands on its own
    assert by.get("OPT_OUT") in {f"model:{model.version}"} or re.fullmatch(r"rule:OPT_OUT\.\d+", by["OPT_OUT"])
    only_model = decide("Dejen de usar mis datos para publicidad personalizada.")
    assert [(i.label, i.by) for i in only_model] == [("OPT_OUT", f"model:{model.version}")]
    assert decide("") == [] and decide(None) == []


def test_a_weak_rule_hit_alone_is_not_a_request() -> None:
    """Rule hits below STRONG_RULE count only where the model agrees: "close my account" alone is a
    weak erasure cue (0.7) that the model has to confirm."""
    from udfs.privacy import classify

    weak = "Can you close the account I opened for my shop's test orders?"
    hits = classify(weak)
    assert hits and all(i.confidence < STRONG_RULE for i in hits)
    model_says = {i.label for i in load_model().classify(weak)}
    assert labels(weak) == model_says & {i.label for i in hits} | model_says


def test_support_staff_can_check_messages_by_hand(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flowlake.cli import main

    result = CliRunner().invoke(main, ["privacy", "classify", "Please delete my account"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert re.search(r"ERASURE\s+│\s+0\.\d\d\s+│\s+rule:ERASURE\.\d+", result.output)
    messages = tmp_path / "messages.txt"
    messages.write_text("Where is my parcel?\nDejen de usar mis datos para publicidad personalizada.\n")
    result = CliRunner().invoke(main, ["privacy", "classify", str(messages)], terminal_width=200)
    assert result.exit_code == 0 and "NONE" in result.output
    assert re.search(rf"OPT_OUT\s+│\s+0\.\d\d\s+│\s+model:{load_model().version}", result.output)


def test_a_request_phrase_the_rules_saw_negated_is_not_the_models_to_overrule() -> None:
    """The rules know negations ("don't delete my account"); where they blocked a request phrase, the
    model's guess does not count. Here a model that takes every message for an erasure request."""
    from udfs.privacy import assess
    from udfs.privacy_model import Model

    eager = Model("eager", INTENTS, (5.0, -5.0, -5.0, -5.0, -5.0), (0.5,) * 5, {})
    for text in ("Don't delete my data, I am still a customer!", "Ne supprimez pas mon compte, je l'utilise encore.",
                 "No borren mi cuenta por favor, la sigo usando."):
        found, blocked = assess(text)
        assert found == [] and blocked, text
        assert decide(text, eager) == [], text
    assert [(i.label, i.by) for i in decide("Where is my parcel?", eager)] == [("ERASURE", "model:eager")]

"""The labelled test sets are frozen: the detector and the classifier are measured on them, never tuned
on them, so a change to one must be deliberate (a new test set, with its new checksum in
tests/data/SHA256SUMS and the reason in the commit)."""

from __future__ import annotations

import hashlib

from flowlake.config import REPO_ROOT

DATA = REPO_ROOT / "tests" / "data"


def test_the_frozen_test_sets_are_unchanged() -> None:
    lines = [line.split() for line in (DATA / "SHA256SUMS").read_text().splitlines() if line.strip()]
    assert {name for _, name in lines} == {"pii/corpus.jsonl", "privacy/holdout.tsv",
                                           *(f"privacy/test/{language}.tsv" for language in ("de", "en", "es", "fr"))}
    for digest, name in lines:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, f"{name} changed"


def test_the_frozen_pii_corpus_is_the_generators_output() -> None:
    """The file is what bench/corpus.py builds: the generator and the file do not drift apart unnoticed."""
    from bench.corpus import FROZEN_SEED, FROZEN_SIZE, build, load

    assert load() == build(FROZEN_SIZE, seed=FROZEN_SEED)


def test_the_privacy_test_set_has_what_its_scenarios_promise() -> None:
    """110 messages per language, 44 of them NONE, every intent at least 12 times (SCENARIOS.md)."""
    from bench.privacy_eval import load
    from udfs.privacy import INTENTS

    messages = load("test")
    for language in ("de", "en", "es", "fr"):
        mine = [m for m in messages if m.language == language]
        assert len(mine) == 110 and sum(not m.labels for m in mine) == 44, language
        assert all(sum(intent in m.labels for m in mine) >= 12 for intent in INTENTS), language
    assert len({m.text for m in messages}) == len(messages)


def _shingles(text: str) -> set[str]:
    from udfs.privacy import normalise

    words = normalise(text).split()
    return {" ".join(words[i:i + 4]) for i in range(max(1, len(words) - 3))}


def test_no_training_message_is_a_test_message() -> None:
    """The model is trained on train/ and dev.tsv: none of their messages may be (nearly) one of the test
    set's, or the test set would measure memory. Near: more than half of their 4-word runs shared."""
    from bench.privacy_eval import load

    test = [_shingles(m.text) for m in load("test")]
    index: dict[str, list[int]] = {}
    for i, shingles in enumerate(test):
        for shingle in shingles:
            index.setdefault(shingle, []).append(i)
    leaks = []
    for message in [*load("train"), *load("dev")]:
        mine = _shingles(message.text)
        for i in {i for shingle in mine for i in index.get(shingle, ())}:
            if len(mine & test[i]) / len(mine | test[i]) > 0.5:
                leaks.append(message.text)
    assert leaks == []

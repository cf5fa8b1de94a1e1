"""The hostile corpus (tests/hostile.py) through the pure validation and masking code: nothing raises,
each record is judged as the corpus says, and what reaches silver can be written as UTF-8."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.hostile import corpus
from udfs.records import check_event
from udfs.validation import validate

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CORPUS = corpus(datetime(2026, 11, 22, 11, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _hash_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWLAKE_PII_HASH_KEY", "unit-test-key")


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_each_hostile_record_is_judged_as_expected(entry) -> None:  # type: ignore[no-untyped-def]
    checked = check_event(entry.payload, NOW)
    assert checked.valid == entry.valid, checked.failures
    if entry.valid:
        assert checked.record is not None
        checked.record.encode("utf-8")  # the silver row can be written
    else:
        assert checked.failures and checked.failures[0].startswith(entry.expect + ":"), checked.failures


def test_the_corpus_covers_every_payload_rule() -> None:
    expected = {e.expect for e in CORPUS}
    assert {"payload.missing", "payload.size", "payload.encoding", "payload.json", "payload.duplicate_key",
            "payload.object", "valid"} <= expected


def test_a_surrogate_pair_is_one_character_and_a_lone_one_is_refused() -> None:
    pair = validate(b'{"x": "\\ud83d\\ude00"}', now=NOW)
    assert all(f.rule_id != "payload.encoding" for f in pair.failures)
    lone = validate(b'{"x": "\\udc00 and more"}', now=NOW)
    assert [f.rule_id for f in lone.failures] == ["payload.encoding"]


def test_rule_patterns_are_ascii_and_anchored_at_the_very_end() -> None:
    from udfs.validation import _regex

    assert _regex(r"^U\d{5}$").search("U12345")
    assert not _regex(r"^U\d{5}$").search("U12345\n")
    assert not _regex(r"^U\d{5}$").search("U\u0661\u0662\u0663\u0664\u0665")
    assert _regex(r"^/").search("/any\npath")  # a pattern without $ is left as it is

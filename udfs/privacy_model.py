"""A learned privacy-intent classifier beside the rules (udfs.privacy): one logistic model per intent over
the word, word-pair and character n-grams of the normalised text, so that it generalises to phrasings and
misspellings no rule lists, in English, German, French and Spanish. Trained by bench/train_privacy.py
(scikit-learn, seeded) on tests/data/privacy/train/, never on the frozen test set; its weights ship in
udfs/models/ and are scored here in plain Python, a dictionary lookup per n-gram: nothing is downloaded
and nothing but the standard library is needed, in the job environment as anywhere.

Pure and standard library only."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from udfs.privacy import INTENTS, Intent, assess, normalise

MODEL_FILE = Path(__file__).resolve().parent / "models" / "privacy_intents.json"
_WORD = re.compile(r"\w+")
CHAR_NGRAMS = (3, 4, 5)


def features(text: str) -> set[str]:
    """The n-grams of the normalised text: words, adjacent word pairs (negations: "not delete"), and
    character 3- to 5-grams of each word with its boundaries (stems, inflections, typos)."""
    words = _WORD.findall(normalise(text))
    found = {f"w:{word}" for word in words}
    found.update(f"p:{a} {b}" for a, b in pairwise(words))
    for word in set(words):
        found.update(_word_grams(word))
    return found


@lru_cache(maxsize=1 << 16)
def _word_grams(word: str) -> tuple[str, ...]:
    """A word's character n-grams, computed once per word: support messages share most of their words."""
    padded = f" {word} "
    return tuple(f"c:{padded[i:i + n]}" for n in CHAR_NGRAMS for i in range(len(padded) - n + 1))


@dataclass(frozen=True)
class Model:
    version: str
    intents: tuple[str, ...]
    bias: tuple[float, ...]
    thresholds: tuple[float, ...]  # per intent: probability at or above which it is predicted
    weights: dict[str, tuple[float, ...]]  # n-gram -> weight per intent

    def probabilities(self, text: str) -> dict[str, float]:
        """Per intent, the probability that the text makes that request. The n-grams form a binary
        vector scaled to unit length, as in training."""
        grams = features(text)
        weights = self.weights
        found = [weights[gram] for gram in grams if gram in weights]
        scale = 1 / math.sqrt(len(grams) or 1)
        sums = [sum(column) for column in zip(*found, strict=True)] if found else [0.0] * len(self.bias)
        return {intent: 1 / (1 + math.exp(-(bias + total * scale)))
                for intent, bias, total in zip(self.intents, self.bias, sums, strict=True)}

    def classify(self, text: str | None) -> list[Intent]:
        """The intents whose probability reaches their threshold, strongest first."""
        if not text:
            return []
        probabilities = self.probabilities(text)
        found = [Intent(intent, round(min(0.99, p), 2)) for (intent, p), threshold
                 in zip(probabilities.items(), self.thresholds, strict=True) if p >= threshold]
        return sorted(found, key=lambda intent: -intent.confidence)


def model_from_json(data: dict[str, Any]) -> Model:
    intents = tuple(str(intent) for intent in data["intents"])
    if set(intents) - set(INTENTS):
        raise ValueError(f"model intents {intents} are not udfs.privacy.INTENTS {INTENTS}")
    weights = {str(feature): tuple(float(w) for w in values) for feature, values in data["weights"].items()}
    return Model(str(data["version"]), intents, tuple(float(b) for b in data["bias"]),
                 tuple(float(t) for t in data["thresholds"]), weights)


@cache
def load_model(path: Path = MODEL_FILE) -> Model:
    return model_from_json(json.loads(path.read_text(encoding="utf-8")))


# Rule hits at least this sure stand on their own; weaker ones only where the model agrees.
STRONG_RULE = 0.9


def decide(text: str | None, model: Model | None = None) -> list[Intent]:
    """The privacy intents of a message, each with what decided it (Intent.by): the rules' sure hits
    (precise, explainable: "rule:<intent>.<n>"), and what the model finds ("model:<version>"), which
    generalises where the rules are silent; but nothing of the model's where the rules saw a request
    phrase negated or blocked ("don't delete my account", "I deleted it by accident"). This combination
    was chosen on the training data's out-of-fold predictions (bench/train_privacy.py), never on the
    test set."""
    if not text:
        return []
    found, blocked = assess(text)
    decided = {i.label: i for i in found if i.confidence >= STRONG_RULE}
    if not blocked:
        model = model or load_model()
        for intent in model.classify(text):
            decided.setdefault(intent.label, Intent(intent.label, intent.confidence, f"model:{model.version}"))
    return sorted(decided.values(), key=lambda intent: -intent.confidence)

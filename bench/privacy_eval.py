"""Precision and recall of the privacy-intent classifier (udfs.privacy) per label, and its texts/s.

    python -m bench.privacy_eval [--set dev|holdout] [--errors]

A message can carry several intents ("send me my data, then delete my account"): each label is
scored over the set of labels per message. NONE is a label of its own: a message with no request,
predicted with none. The sets are in tests/data/privacy/: dev.tsv is what the lexicon is tuned on;
holdout.tsv was written before tuning and is only measured (frozen: tests/data/SHA256SUMS)."""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.pii_eval import Score
from udfs.privacy import INTENTS, NONE, classify

SETS = Path(__file__).resolve().parents[1] / "tests" / "data" / "privacy"
LABELS = (*INTENTS, NONE)


@dataclass(frozen=True)
class Message:
    text: str
    language: str
    labels: frozenset[str]  # empty: no request


def load(name: str) -> list[Message]:
    """A labelled set: tests/data/privacy/<name>.tsv, or every .tsv file of the folder <name>/."""
    paths = [SETS / f"{name}.tsv"] if (SETS / f"{name}.tsv").exists() else sorted((SETS / name).glob("*.tsv"))
    if not paths:
        raise FileNotFoundError(f"no labelled set {name!r} in {SETS}")
    messages = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            labels, language, text = line.split("\t", 2)
            wanted = frozenset(label for label in labels.split(",") if label != NONE)
            unknown = wanted - set(INTENTS)
            if unknown:
                raise ValueError(f"{path.name} line {number}: unknown labels {sorted(unknown)}")
            messages.append(Message(text, language, wanted))
    return messages


def predicted_labels(text: str) -> frozenset[str]:
    return frozenset(intent.label for intent in classify(text))


def evaluate(messages: Iterable[Message],
             predict: Callable[[str], frozenset[str]] = predicted_labels) -> dict[str, Score]:
    scores = {label: Score() for label in LABELS}
    for message in messages:
        got = predict(message.text)
        for label in LABELS:
            want_it = label in message.labels if label != NONE else not message.labels
            got_it = label in got if label != NONE else not got
            if want_it and got_it:
                scores[label].tp += 1
            elif got_it:
                scores[label].fp += 1
                scores[label].errors.append(f"FP [{message.language}] {message.text}")
            elif want_it:
                scores[label].fn += 1
                scores[label].errors.append(f"FN [{message.language}] {message.text}")
    return scores


def texts_per_second(messages: list[Message], seconds: float = 2.0) -> float:
    texts = [m.text for m in messages]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            classify(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("dev", "holdout", "test", "train"), action="append",
                        help="the labelled set(s) to score (default: both)")
    parser.add_argument("--errors", action="store_true", help="list every false positive and negative")
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}")
    for name in args.set or ("dev", "holdout"):
        messages = load(name)
        scores = evaluate(messages)
        languages = sorted({m.language for m in messages})
        print(f"\n{name}: {len(messages)} messages ({', '.join(languages)}), "
              f"{texts_per_second(messages):,.0f} texts/s on one core")
        print(f"{'label':<14} {'support':>7} {'precision':>9} {'recall':>6}")
        for label, score in scores.items():
            print(f"{label:<14} {score.tp + score.fn:>7} {score.precision:>9.2f} {score.recall:>6.2f}")
        if args.errors:
            for label, score in scores.items():
                for error in score.errors:
                    print(f"  {label}: {error}")


if __name__ == "__main__":
    main()

"""Precision, recall and F1 of the privacy-intent classifiers per label and per language, with 95 %
intervals, a confusion matrix and texts/s on one core: the rules (udfs.privacy), the learned model
(udfs.privacy_model) and both combined (udfs.privacy_model.decide; the job runs the rules alone).

    python -m bench.privacy_eval [--set test|train|dev|holdout] [--errors]   (make bench-privacy)

A message can carry several intents ("send me my data, then delete my account"): each label is
scored over the set of labels per message. NONE is a label of its own: a message with no request,
predicted with none. The sets are in tests/data/privacy/: test/ is the frozen test set (never trained
or tuned on), train/ and dev.tsv what the model is trained on, dev.tsv also what the lexicon is tuned
on; holdout.tsv was written before the lexicon was tuned (frozen too: tests/data/SHA256SUMS)."""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.pii_eval import Score
from udfs import privacy_model
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


def texts_per_second(messages: list[Message], predict: Callable[[str], frozenset[str]], seconds: float = 2.0) -> float:
    texts = [m.text for m in messages]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            predict(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion."""
    if not total:
        return 0.0, 1.0
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def f1(score: Score) -> float:
    return 2 * score.tp / (2 * score.tp + score.fp + score.fn) if score.tp else 0.0


def exact(messages: list[Message], predict: Callable[[str], frozenset[str]]) -> tuple[int, int]:
    return sum(predict(m.text) == m.labels for m in messages), len(messages)


def confusion(messages: list[Message], predict: Callable[[str], frozenset[str]]) -> dict[tuple[str, str], int]:
    """(wanted, predicted) label set -> messages, for the messages with one label or none."""
    counts: dict[tuple[str, str], int] = {}
    for m in messages:
        if len(m.labels) <= 1:
            got = predict(m.text)
            key = (next(iter(m.labels), NONE), ",".join(sorted(got)) or NONE)
            counts[key] = counts.get(key, 0) + 1
    return counts


def predictors() -> dict[str, Callable[[str], frozenset[str]]]:
    model = privacy_model.load_model()
    return {"rules": predicted_labels,
            f"model {model.version}": lambda text: frozenset(i.label for i in model.classify(text)),
            "combined": lambda text: frozenset(d.label for d in privacy_model.decide(text))}


def report(name: str, messages: list[Message], errors: bool) -> None:
    languages = sorted({m.language for m in messages})
    print(f"\n## {name}: {len(messages)} messages ({', '.join(languages)})")
    for classifier, predict in predictors().items():
        predicted = {m.text: predict(m.text) for m in messages}  # each message classified once for the tables
        hits, total = exact(messages, predicted.__getitem__)
        low, high = wilson(hits, total)
        print(f"\n### {classifier}: accuracy {hits / total:.3f} [{low:.3f}, {high:.3f}], "
              f"{texts_per_second(messages, predict):,.0f} texts/s on one core")
        per_language = [exact([m for m in messages if m.language == language], predicted.__getitem__)
                        for language in languages]
        print("accuracy per language: " + ", ".join(f"{language} {hits / total:.3f}" for language, (hits, total)
                                                    in zip(languages, per_language, strict=True)))
        print(f"{'label':<14} {'lang':<4} {'support':>7} {'precision':>16} {'recall':>16} {'F1':>5}")
        by_language = {language: evaluate(messages if language == "all" else
                                          [m for m in messages if m.language == language], predicted.__getitem__)
                       for language in ("all", *languages)}
        for label in LABELS:
            for language in ("all", *languages):
                score = by_language[language][label]
                p_low, p_high = wilson(score.tp, score.tp + score.fp)
                r_low, r_high = wilson(score.tp, score.tp + score.fn)
                print(f"{label:<14} {language:<4} {score.tp + score.fn:>7} "
                      f"{score.precision:>5.2f} [{p_low:.2f},{p_high:.2f}] "
                      f"{score.recall:>5.2f} [{r_low:.2f},{r_high:.2f}] {f1(score):>5.2f}")
        matrix = confusion(messages, predicted.__getitem__)
        columns = sorted({got for _, got in matrix})
        print("confusion (rows: wanted, one label or none; columns: predicted):")
        print(" " * 14 + " ".join(f"{p[:13]:>13}" for p in columns))
        for label in LABELS:
            print(f"{label:<14}" + " ".join(f"{matrix.get((label, p), 0):>13}" for p in columns))
        if errors:
            for label, score in by_language["all"].items():
                for error in score.errors:
                    print(f"  {label}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("test", "train", "dev", "holdout"), action="append",
                        help="the labelled set(s) to score (default: test)")
    parser.add_argument("--errors", action="store_true", help="list every false positive and negative")
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}")
    for name in args.set or ("test",):
        report(name, load(name), args.errors)


if __name__ == "__main__":
    main()

"""Trains the privacy-intent model (udfs/privacy_model.py) and writes its weights file.

    make train-privacy        # a venv with scikit-learn (bench/requirements-train.txt), then this

Data: tests/data/privacy/train/*.tsv and dev.tsv, never the test set (tests/data/privacy/test/, frozen)
nor holdout.tsv. One logistic regression per intent (liblinear, seeded: the same data gives the same
file) over the n-grams of udfs.privacy_model.features, each message a binary vector scaled to unit
length over all its n-grams, as the scorer does. The regularisation and each intent's threshold are
chosen on out-of-fold probabilities of a 5-fold cross-validation of the training data: the threshold
maximises F1, for ERASURE F0.5 (a false erasure request costs a customer's data)."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.privacy_eval import SETS, Message, load
from udfs.privacy import INTENTS
from udfs.privacy_model import MODEL_FILE, STRONG_RULE, features

TRAINING = ("train", "dev")
SEED = 20261203
MIN_COUNT = 2  # an n-gram seen in fewer training messages gets no weight
C_GRID = (1.0, 3.0, 10.0, 30.0)
PRECISION_FIRST = {"ERASURE": 0.5}  # F-beta's beta per intent; others F1
Grams = list[set[str]]


def vocabulary(grams: Grams) -> dict[str, int]:
    counts: dict[str, int] = {}
    for found in grams:
        for gram in found:
            counts[gram] = counts.get(gram, 0) + 1
    return {gram: i for i, gram in enumerate(sorted(g for g, n in counts.items() if n >= MIN_COUNT))}


def matrix(grams: Grams, vocab: dict[str, int]) -> csr_matrix:
    rows, cols, values = [], [], []
    for row, found in enumerate(grams):
        scale = 1 / math.sqrt(len(found) or 1)
        for gram in found:
            if gram in vocab:
                rows.append(row)
                cols.append(vocab[gram])
                values.append(scale)
    return csr_matrix((values, (rows, cols)), shape=(len(grams), len(vocab)))


def targets(messages: list[Message]) -> np.ndarray:
    return np.array([[intent in m.labels for intent in INTENTS] for m in messages], dtype=int)


def fit(grams: Grams, y: np.ndarray, c: float) -> tuple[dict[str, int], list[LogisticRegression]]:
    vocab = vocabulary(grams)
    x = matrix(grams, vocab)
    models = [LogisticRegression(C=c, solver="liblinear", class_weight="balanced", random_state=SEED).fit(x, y[:, i])
              for i in range(len(INTENTS))]
    return vocab, models


def out_of_fold(grams: Grams, y: np.ndarray, c: float, strata: list[str]) -> np.ndarray:
    """Each message's probabilities from a model that did not see it."""
    probabilities = np.zeros(y.shape)
    for train, held in StratifiedKFold(5, shuffle=True, random_state=SEED).split(grams, strata):
        vocab, models = fit([grams[i] for i in train], y[train], c)
        x = matrix([grams[i] for i in held], vocab)
        probabilities[held] = np.column_stack([m.predict_proba(x)[:, 1] for m in models])
    return probabilities


def f_beta(tp: int, fp: int, fn: int, beta: float) -> float:
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0


def best_threshold(p: np.ndarray, want: np.ndarray, beta: float) -> tuple[float, float]:
    best = (0.0, 0.5)
    for threshold in np.arange(0.2, 0.96, 0.01):
        got = p >= threshold
        tp, fp, fn = int((got & (want == 1)).sum()), int((got & (want == 0)).sum()), int((~got & (want == 1)).sum())
        best = max(best, (f_beta(tp, fp, fn, beta), round(float(threshold), 2)))
    return best


def report_combinations(messages: list[Message], oof: np.ndarray, thresholds: list[float]) -> None:
    """Rules alone, the model alone (out of fold) and ways to combine them, on the training data: how
    udfs.privacy_model.decide combines them is chosen here, never on the test set."""
    from udfs.privacy import assess

    assessed = [assess(m.text) for m in messages]
    rules = [frozenset(i.label for i in found) for found, _ in assessed]
    strong = [frozenset(i.label for i in found if i.confidence >= STRONG_RULE) for found, _ in assessed]
    blocked = [was_blocked for _, was_blocked in assessed]
    model = [frozenset(intent for j, intent in enumerate(INTENTS) if oof[i, j] >= thresholds[j])
             for i in range(len(messages))]
    pairs = list(zip(rules, model, strict=True))
    ways = {"rules": rules, "model": model, "union": [r | m for r, m in pairs],
            "rules, else model": [r or m for r, m in pairs],
            "rules, else model unless blocked": [r or (frozenset() if b else m) for (r, m), b in
                                                 zip(pairs, blocked, strict=True)],
            f"rules >= {STRONG_RULE} + model": [s | m for s, m in zip(strong, model, strict=True)],
            f"rules >= {STRONG_RULE} + model unless blocked (decide)": [s | (frozenset() if b else m) for s, m, b in
                                                             zip(strong, model, blocked, strict=True)]}
    print("  on the training data (model out of fold): accuracy (exact label set), then F1 per intent")
    for name, predicted in ways.items():
        exact = sum(p == m.labels for p, m in zip(predicted, messages, strict=True)) / len(messages)
        per_intent = []
        for intent in INTENTS:
            tp = sum(intent in p and intent in m.labels for p, m in zip(predicted, messages, strict=True))
            fp = sum(intent in p and intent not in m.labels for p, m in zip(predicted, messages, strict=True))
            fn = sum(intent not in p and intent in m.labels for p, m in zip(predicted, messages, strict=True))
            per_intent.append(f"{intent} {f_beta(tp, fp, fn, 1.0):.3f}")
        print(f"    {name:<22} {exact:.3f}  " + ", ".join(per_intent))


def check_parity(messages: list[Message], grams: Grams, vocab: dict[str, int], models: list[LogisticRegression],
                 model: dict[str, object]) -> None:
    """The plain-Python scorer gives scikit-learn's probabilities (to the weights' rounding)."""
    from udfs.privacy_model import model_from_json

    scorer = model_from_json(model)
    x = matrix(grams, vocab)
    expected = np.column_stack([m.predict_proba(x)[:, 1] for m in models])
    got = np.array([[scorer.probabilities(m.text)[intent] for intent in INTENTS] for m in messages])
    worst = float(np.abs(expected - got).max())
    if worst > 0.01:
        raise SystemExit(f"the scorer differs from scikit-learn by up to {worst:.4f}: features or scaling drifted")
    print(f"  parity with scikit-learn on the training data: max difference {worst:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    messages = [m for name in TRAINING for m in load(name)]
    digest = hashlib.sha256("\n".join(sorted(f"{sorted(m.labels)}\t{m.language}\t{m.text}"
                                             for m in messages)).encode()).hexdigest()[:12]
    grams = [features(m.text) for m in messages]
    y = targets(messages)
    strata = [f"{m.language}:{','.join(sorted(m.labels)) or 'NONE'}" for m in messages]
    strata = [s if strata.count(s) >= 5 else s.split(":")[0] for s in strata]
    print(f"{len(messages)} training messages ({', '.join(sorted({m.language for m in messages}))}) from "
          f"{', '.join(str(SETS / n) for n in TRAINING)}; data digest {digest}")

    scored = []
    for c in C_GRID:
        oof = out_of_fold(grams, y, c, strata)
        picks = [best_threshold(oof[:, i], y[:, i], PRECISION_FIRST.get(intent, 1.0))
                 for i, intent in enumerate(INTENTS)]
        mean = sum(score for score, _ in picks) / len(picks)
        print(f"  C={c:<5} out-of-fold F per intent: " + ", ".join(f"{i} {s:.3f}@{t}" for i, (s, t) in
                                                                  zip(INTENTS, picks, strict=True)))
        scored.append((mean, c, [t for _, t in picks]))
    _, c, thresholds = max(scored)
    # dev.tsv is what the rules were tuned on: the combinations are compared on train/ alone.
    written = len(load(TRAINING[0]))
    report_combinations(messages[:written], out_of_fold(grams, y, c, strata)[:written], thresholds)
    vocab, models = fit(grams, y, c)
    weights = {gram: [round(float(m.coef_[0, i]), 4) for m in models] for gram, i in vocab.items()}
    weights = {gram: w for gram, w in weights.items() if any(w)}
    model = {"version": f"lr-{digest}", "intents": list(INTENTS),
             "bias": [round(float(m.intercept_[0]), 4) for m in models], "thresholds": thresholds,
             "trained_on": {"messages": len(messages), "sets": list(TRAINING), "c": c, "min_count": MIN_COUNT,
                            "seed": SEED},
             "weights": weights}
    check_parity(messages, grams, vocab, models, model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    print(f"chose C={c}, thresholds {dict(zip(INTENTS, thresholds, strict=True))}; {len(weights):,} n-grams; "
          f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

"""Precision and recall of a PII detector on the labelled corpus, per entity type.

A finding counts as a true positive when its type matches a labelled span and the two overlap by
at least half of the longer one (detectors differ on whether a "+" or a bracket belongs to a number)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bench.corpus import Sample, Span
from udfs.pii import detect

Detector = Callable[[str], Iterable[Span]]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _matches(a: Span, b: Span) -> bool:
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    return a[2] == b[2] and overlap * 2 >= max(a[1] - a[0], b[1] - b[0])


def evaluate(detector: Detector, samples: Iterable[Sample], entity_types: Iterable[str]) -> dict[str, Score]:
    scores = {t: Score() for t in entity_types}
    for sample in samples:
        predicted = [p for p in detector(sample.text) if p[2] in scores]
        gold = list(sample.spans)
        for p in predicted:
            hit = next((g for g in gold if _matches(p, g)), None)
            if hit is not None:
                scores[p[2]].tp += 1
                gold.remove(hit)
            else:
                scores[p[2]].fp += 1
                scores[p[2]].errors.append(f"FP {sample.text[p[0]:p[1]]!r} in {sample.text!r}")
        for g in gold:
            scores[g[2]].fn += 1
            scores[g[2]].errors.append(f"FN {sample.text[g[0]:g[1]]!r} in {sample.text!r}")
    return scores


def flowlake_detector(text: str) -> list[Span]:
    return [(f.start, f.end, f.entity_type) for f in detect(text)]

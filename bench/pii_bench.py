"""PII detection benchmark: flowlake's `detect` against Microsoft Presidio's AnalyzerEngine (the
same six entity types, a blank spaCy pipeline so no model is downloaded), in one run, on one core.

    make bench-pii          # builds a bench venv with presidio-analyzer, then runs this

Prints texts/s of both on a realistic mix, their ratio, and per-type precision/recall of both on
the labelled corpus (bench/corpus.py; its frozen test set is tests/data/pii/corpus.jsonl)."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import Span, build
from bench.pii_eval import evaluate, flowlake_detector
from udfs.pii import ENTITY_TYPES, detect

# What flows through the UDF in production: mostly fields with no PII (pages, ids, agents, plain
# messages), some with PII. The corpus supplies the PII-bearing texts.
PLAIN_TEXTS = [
    "/product/SKU-1001", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "Espresso machine",
    "Thanks, everything arrived in good condition!", "Where is my parcel? It was due on Monday.",
    "ORD-12345678", "The package tracking number 1Z999AA10123456784 shows no movement since Monday.",
    "Can I change the delivery address for order ORD-55501234?", "Great service, will order again.",
]


def realistic_mix(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    corpus = [s.text for s in build(max(n // 3, 100), seed)]
    return [rng.choice(corpus) if rng.random() < 0.3 else rng.choice(PLAIN_TEXTS) for _ in range(n)]


def presidio_detector() -> Callable[[str], list[Span]]:
    import spacy
    import tldextract

    # Presidio's email recognizer calls tldextract.extract, which fetches the public suffix list from
    # the internet on first use; the snapshot inside the package serves offline.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    entities = list(ENTITY_TYPES)

    def detect(text: str) -> list[Span]:
        results = analyzer.analyze(text=text, language="en", entities=entities)
        return [(r.start, r.end, r.entity_type) for r in results if r.score >= 0.4]

    return detect


def interleaved_throughput(engines: dict[str, Callable[[str], object]], texts: Sequence[str],
                           seconds: float) -> dict[str, float]:
    """Texts/s per engine, timed in alternating slices of about 20 ms each, so that a noisy machine
    slows every engine alike. Every engine walks the same texts in the same order."""
    for engine in engines.values():
        for text in texts[:50]:
            engine(text)  # warm up
    spent, done = dict.fromkeys(engines, 0.0), dict.fromkeys(engines, 0)
    batch = dict.fromkeys(engines, 10)
    while min(spent.values()) < seconds:
        for name, engine in engines.items():
            first = done[name] % len(texts)
            chunk = [texts[(first + i) % len(texts)] for i in range(batch[name])]
            started = time.perf_counter()
            for text in chunk:
                engine(text)
            elapsed = time.perf_counter() - started
            spent[name] += elapsed
            done[name] += len(chunk)
            batch[name] = max(1, min(len(texts), round(len(chunk) * 0.02 / max(elapsed, 1e-6))))
    return {name: done[name] / spent[name] for name in engines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per engine")
    parser.add_argument("--corpus", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    texts = realistic_mix(args.texts)
    corpus = build(args.corpus, seed=2024)
    report: dict[str, object] = {"texts": len(texts), "corpus_samples": len(corpus)}
    detectors: dict[str, Callable[[str], list[Span]]] = {"flowlake": flowlake_detector}
    # Throughput is timed on each engine's own API: flowlake's `detect`, Presidio's `analyze`.
    timed: dict[str, Callable[[str], object]] = {"flowlake": detect}
    try:
        detectors["presidio"] = timed["presidio"] = presidio_detector()
    except ImportError as exc:
        print(f"presidio not installed ({exc}): run `make bench-pii` for the comparison", file=sys.stderr)
    for name, rate in interleaved_throughput(timed, texts, args.seconds).items():
        report[f"{name}_texts_per_s"] = round(rate, 1)
    for name, detector in detectors.items():
        scores = evaluate(detector, corpus, ENTITY_TYPES)
        report[f"{name}_accuracy"] = {t: {"precision": round(s.precision, 4), "recall": round(s.recall, 4),
                                          "tp": s.tp, "fp": s.fp, "fn": s.fn} for t, s in scores.items()}
    if "presidio_texts_per_s" in report:
        report["speed_ratio"] = round(float(report["flowlake_texts_per_s"])  # type: ignore[arg-type]
                                      / float(report["presidio_texts_per_s"]), 1)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"texts/s (one core, realistic mix of {len(texts)} texts):")
    for name in detectors:
        print(f"  {name:9} {report[f'{name}_texts_per_s']:>12,.1f}")
    if "speed_ratio" in report:
        print(f"  ratio     {report['speed_ratio']:>12}x")
    print(f"\nprecision / recall on the labelled corpus ({len(corpus)} samples):")
    print(f"  {'entity':15}" + "".join(f"{name:>24}" for name in detectors))
    for entity in ENTITY_TYPES:
        cells = []
        for name in detectors:
            acc = report[f"{name}_accuracy"][entity]  # type: ignore[index]
            cells.append(f"{acc['precision']:.3f} / {acc['recall']:.3f}")
        print(f"  {entity:15}" + "".join(f"{c:>24}" for c in cells))


if __name__ == "__main__":
    main()

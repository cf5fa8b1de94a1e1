"""CPU cost per record of the medallion job's Python UDF work, in plain CPython (no JVM, no services).

    taskset -c 1 .venv/bin/python -m bench.udf_micro [--records 5000] [--rounds 5]

The payloads are the generator's (flowlake.generate.records: seeded, 5% bad, 2% duplicates), with
event times from a fixed clock. Each round times every measure once, in turn, with CPU time
(time.process_time); the report gives the median over rounds, the spread (max - min) and the
fastest round (the least disturbed by other work on a shared core)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from bench.corpus import build
from bench.privacy_eval import load
from flowlake.generate import Mix, SteppingClock, records
from udfs import pii, privacy, privacy_model
from udfs.records import check_event
from udfs.validation import load_rules, validate

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STEP = timedelta(milliseconds=50)
KEY = b"bench-key"


def payloads(count: int, seed: int = 42) -> list[tuple[bytes, datetime]]:
    """(payload, Kafka timestamp) of `count` generated records."""
    generated = islice(records(seed, Mix(bad=0.05, duplicates=0.02), SteppingClock(START, STEP)), count)
    return [(payload, START + i * STEP + timedelta(seconds=1)) for i, (_, payload, _) in enumerate(generated)]


def free_texts(mix: list[tuple[bytes, datetime]]) -> list[str]:
    """The free-text fields the job scans (rules with `scan`) in the valid records of the mix."""
    texts: list[str] = []
    for payload, at in mix:
        record = validate(payload, now=at).record
        if record is None:
            continue
        texts += [record[name] for name in ("message", "user_agent") if isinstance(record.get(name), str)]
        texts += [line["name"] for line in record.get("items", ()) if isinstance(line.get("name"), str)]
    return texts


def measures(count: int) -> dict[str, tuple[Callable[[], Any], int]]:
    """name -> (one pass over the inputs, how many inputs a pass handles)."""
    mix = payloads(count)
    rules = load_rules()
    messages = [r["message"] for p, at in mix if (r := validate(p, now=at).record) and "message" in r]
    labelled = [m.text for name in ("dev", "holdout") for m in load(name)]
    texts = free_texts(mix)
    corpus = [s.text for s in build(1000, seed=7)]

    def run_validate() -> None:
        for payload, at in mix:
            validate(payload, now=at, rules=rules)

    def run_check_event() -> None:
        for payload, at in mix:
            check_event(payload, at, KEY, rules)

    def run(function: Callable[[str], Any], inputs: list[str]) -> Callable[[], None]:
        def each() -> None:
            for text in inputs:
                function(text)
        return each

    return {
        "validation.validate": (run_validate, len(mix)),
        "records.check_event": (run_check_event, len(mix)),
        "privacy.classify (generated messages)": (run(privacy.classify, messages), len(messages)),
        "privacy.classify (dev+holdout)": (run(privacy.classify, labelled), len(labelled)),
        "privacy_model.decide (generated messages)": (run(privacy_model.decide, messages), len(messages)),
        "privacy_model.decide (dev+holdout)": (run(privacy_model.decide, labelled), len(labelled)),
        "pii.detect (generated free texts)": (run(pii.detect, texts), len(texts)),
        "pii.detect (labelled corpus)": (run(pii.detect, corpus), len(corpus)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="time only the measures whose name contains this")
    args = parser.parse_args()
    os.environ.setdefault("FLOWLAKE_PII_HASH_KEY", KEY.decode())
    chosen = {name: m for name, m in measures(args.records).items() if not args.only or args.only in name}
    for function, _ in chosen.values():
        function()  # warm: rules loaded, patterns compiled
    times: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(max(3, args.rounds)):
        for name, (function, n) in chosen.items():
            start = time.process_time()
            function()
            times[name].append((time.process_time() - start) / n * 1e6)
    print(f"{platform.python_implementation()} {platform.python_version()}, CPU time, "
          f"{len(times[next(iter(times))])} rounds")
    print(f"{'measure':<40} {'inputs':>6} {'median us':>10} {'spread':>8} {'min':>8}")
    for name, (_, n) in chosen.items():
        runs = times[name]
        print(f"{name:<40} {n:>6} {statistics.median(runs):>10.2f} {max(runs) - min(runs):>8.2f} {min(runs):>8.2f}")


if __name__ == "__main__":
    main()

"""Where a JVM spends its CPU: a summary of a Java Flight Recorder recording's execution samples, per
thread and per method (inclusive), as text. How the profiles in docs/benchmarks.md were read.

    jcmd <TaskManager pid> JFR.start duration=25s filename=/tmp/tm.jfr settings=profile   # under load
    python bench/jfr_summary.py /tmp/tm.jfr [--thread "Deduplicate"] [--top 40]

`jfr` and `jcmd` come with the JDK the TaskManager runs on; nothing else is needed."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import Counter


def samples(recording: str) -> list[tuple[str, list[str]]]:
    """(thread name, frames from the top) of every execution sample."""
    command = ["jfr", "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample", recording]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = []
    for event in json.loads(out)["recording"]["events"]:
        values = event["values"]
        thread = (values.get("sampledThread") or {}).get("javaName") or "?"
        frames = (values.get("stackTrace") or {}).get("frames") or []
        found.append((thread, [f'{f["method"]["type"]["name"].split("/")[-1]}.{f["method"]["name"]}' for f in frames]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording")
    parser.add_argument("--thread", default="", help="only threads whose name starts with this")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    every = samples(args.recording)
    chosen = [(thread, frames) for thread, frames in every if thread.startswith(args.thread)]
    threads = Counter(thread.split(" (")[0][:80] for thread, _ in chosen)
    inclusive = Counter(name for _, frames in chosen for name in set(frames))
    print(f"{len(chosen)} of {len(every)} samples")
    print("\nthreads:")
    for name, count in threads.most_common(args.top):
        print(f"{count / len(chosen):7.1%}  {name}")
    print("\nmethods (inclusive):")
    for name, count in inclusive.most_common(args.top):
        print(f"{count / len(chosen):7.1%}  {name}")


if __name__ == "__main__":
    main()

"""`flowlake pii scan`: findings as JSON lines, or masked output, for text or JSON-lines input."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from udfs.masking import Policy, load_hash_key, mask_text
from udfs.pii import detect


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _mask_strings(value: Any, policy: Policy, key: bytes | None) -> Any:
    if isinstance(value, str):
        return mask_text(value, policy, key)
    if isinstance(value, dict):
        return {k: _mask_strings(v, policy, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_strings(v, policy, key) for v in value]
    return value


def _parse(line: str, json_lines: bool) -> Any:
    if json_lines:
        try:
            return json.loads(line)
        except ValueError:
            pass  # not JSON: scanned as text
    return line


def scan_lines(lines: Iterable[str], json_lines: bool) -> Iterator[str]:
    """One JSON object per finding: line number, field path (JSON input), offsets, type, score."""
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\n")
        for path, text in _strings(_parse(line, json_lines)):
            for f in detect(text):
                finding = {"line": number, "field": path or None, "start": f.start, "end": f.end,
                           "entity_type": f.entity_type, "score": f.score}
                yield json.dumps(finding)


def mask_lines(lines: Iterable[str], json_lines: bool, policy: Policy) -> Iterator[str]:
    key = load_hash_key() if policy is Policy.HASH else None
    for line in lines:
        line = line.rstrip("\n")
        value = _parse(line, json_lines)
        masked = _mask_strings(value, policy, key)
        yield masked if isinstance(value, str) else json.dumps(masked, ensure_ascii=False)

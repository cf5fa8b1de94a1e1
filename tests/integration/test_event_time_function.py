"""flowlake's event-time function (deploy/flink-functions) against the Flink SQL expression it replaced
(JSON_VALUE, REGEXP_EXTRACT, TO_TIMESTAMP), both run by a real Flink job (MiniCluster) over the same
bytes: generated events, the hostile corpus and payloads made to find where two JSON readers part."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

from flowlake.config import REPO_ROOT, Settings
from flowlake.generate import events
from flowlake.stack.install import ensure_flink_functions
from flowlake.stack.runtime import Runtime
from tests.hostile import corpus

pytestmark = pytest.mark.integration

TIME = '"2026-12-03T10:11:12.345Z"'


def _member(value: str) -> bytes:
    return ('{"event_id": "e1", "event_time": ' + value + ', "event_type": "order"}').encode()


def _with(extra: str) -> bytes:
    return ('{"event_time": ' + TIME + ', "a": ' + extra + "}").encode()


TIMES = [TIME, '"2026-12-03T10:11:12Z"', '"2026-12-03 10:11:12Z"', '"2026-12-03T10:11:12.123456789Z"',
         '"2026-12-03T10:11:12.9Z"', '"2026-12-03T10:11:12.99Z"', '"2026-12-03T10:11:12+00:00"',
         '"2026-12-03T10:11:12.5+00:00"', '"2026-12-03T10:11:12+01:00"', '"2026-12-03T10:11:12"',
         '"2026-12-03T10:11:12.Z"', '"2026-12-03T10:11:12.1234567890Z"', '"2026-02-28T23:59:59.999Z"',
         '"2026-02-29T00:00:00Z"', '"2024-02-29T00:00:00Z"', '"2026-04-31T00:00:00Z"', '"2026-01-31T00:00:00Z"',
         '"2026-13-01T00:00:00Z"', '"2026-00-10T00:00:00Z"', '"2026-01-00T00:00:00Z"', '"2026-01-32T00:00:00Z"',
         '"2026-01-01T24:00:00Z"', '"2026-01-01T23:60:00Z"', '"2026-01-01T23:59:60Z"', '"0000-01-01T00:00:00Z"',
         '"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59.999Z"', '"2026-12-03T10:11:12Z\\n"',
         '"2026-12-03T10:11:12Z\\r\\n"', '"2026-12-03T10:11:12Z\\n\\n"', '"2026-12-03T10:11:12Z\\u2028"',
         '"2026-12-03T10:11:12Z\\u0085"', '"\\u0032026-12-03T10:11:12Z"', '"2026-12-03T10:11:12\\u005a"',
         '"2026\\/12-03T10:11:12Z"', '"\uff12\uff10\uff12\uff16-12-03T10:11:12Z"', '" 2026-12-03T10:11:12Z"',
         '"2026-12-03t10:11:12Z"', '"2026-12-03T10:11:12z"', '"2026-12-03T10:11:12Z "', '"2026-12-03T10:11:12Z\\r"',
         '"2026-12-03T10:11:12.123456789+00:00\\n"', '"2026-12-03T10:11:12+00:00\\r\\n"',
         '"2026-12-03T10:11:12Z\\u0085x"',
         '"2026-12-03T10:11:12+00:0"', '"2026-12-03T10:11:12+00:00:00"', '"2026-12-03T10:11:1Z"', '"2026-12-03T10:11"',
         '"2026-12-03T10:11:12.Z"', '"2026-12-03T10:11:12..1Z"', '"2026-12-03T10:11:12.1.2Z"', '""', "1764756672",
         "null", "true", "false", '{"a": 1}', '["2026-12-03T10:11:12Z"]', "1.5e3", "-0"]

HOSTILE_JSON = [
    b'{"event_time": "2026-01-01T00:00:00Z", "event_time": "2026-02-02T00:00:00Z"}',
    b'{"event_time": "2026-01-01T00:00:00Z", "event_time": 5}',
    b'{"event_time": "2026-01-01T00:00:00Z", "event_time": null}',
    b'{"event_time": "2026-01-01T00:00:00Z", "event_time": {"x": "2026-03-03T00:00:00Z"}}',
    b'{"meta": {"event_time": "2026-01-01T00:00:00Z"}}',
    b'{"note": "\\"event_time\\": \\"2026-01-01T00:00:00Z\\"", "event_time": "2026-05-05T00:00:00Z"}',
    b'{"event\\u005ftime": "2026-01-01T00:00:00Z"}',
    b'{"Event_time": "2026-01-01T00:00:00Z"}',
    b"", b"   ", b"null", b'"2026-01-01T00:00:00Z"', b'[{"event_time": "2026-01-01T00:00:00Z"}]', b"{}", b"{ }",
    b'{"event_time": "2026-01-01T00:00:00Z"',
    b'{"event_time": "2026-01-01T00:00:00Z"} trailing garbage',
    b'{"event_time": "2026-01-01T00:00:00Z"}{"event_time": "2026-02-01T00:00:00Z"}',
    b'{"event_time": "2026-01-01T00:00:00Z",}',
    b'{"event_time": "2026-01-01T00:00:00Z" "a": 1}',
    b'{"event_time" "2026-01-01T00:00:00Z"}',
    b"{'event_time': '2026-01-01T00:00:00Z'}",
    b'{event_time: "2026-01-01T00:00:00Z"}',
    b'{"event_time": "2026-01-01T00:00:00Z"/* a comment */}',
    b'# comment\n{"event_time": "2026-01-01T00:00:00Z"}',
    b'\xef\xbb\xbf{"event_time": "2026-01-01T00:00:00Z"}',
    b'\x00{"event_time": "2026-01-01T00:00:00Z"}',
    b'{"event_time": "2026-01-01T00:00:00Z"}\x00',
    b'\x0c{"event_time": "2026-01-01T00:00:00Z"}',
    b' \t\r\n{ "event_time" : "2026-01-01T00:00:00Z" } ',
    b'{"name": "caf\xc3\xa9", "event_time": "2026-01-01T00:00:00Z"}',
    b'{"name": "\xff\xfe bad utf-8", "event_time": "2026-01-01T00:00:00Z"}',
    b'{"name": "\xe2", "event_time": "2026-01-01T00:00:00Z"}',
    b'{"event_time": "2026-01-01T00:00:00Z\xe2"}',
    b'{"event_time\xc3\xa9": "2026-01-01T00:00:00Z"}',
    b'{"\xe2": 1, "event_time": "2026-01-01T00:00:00Z"}',
    _with('"tab\there"'), _with('"line\nbreak"'), _with('"del \x7f ok"'), _with('"bad \\x escape"'),
    _with('"\\u12"'), _with('"\\u12G4"'), _with('"\\ud800 lone surrogate"'), _with('"ends with backslash\\"'),
    _with("01"), _with("1."), _with(".5"), _with("-"), _with("+1"), _with("NaN"), _with("Infinity"),
    _with("-Infinity"), _with("1e"), _with("1e+"), _with("1E+2"), _with("-0.0e-1"), _with("0.5"), _with("1_000"),
    _with("0x10"), _with("tru"), _with("truex"), _with("nul"), _with("null"), _with("[1, [2, {\"b\": []}], {}]"),
    _with("[1, ]"), _with("[, 1]"), _with("[1 2]"), _with('{"b": 1,}'), _with('{"b"}'), _with("{1: 2}"),
    _with("1" * 1000), _with("1" * 1001), _with("1" * 5000), _with("-" + "1" * 1000), _with("0." + "1" * 998),
    _with("0." + "1" * 1000), _with("1e" + "1" * 1000), _with('"' + "x" * 100_000 + '"'),
]
# Nesting: the root object is level 1; Jackson 2.15's default limit would be 1,000.
NESTING = [_with("[" * n + "]" * n) for n in (998, 999, 1000, 30_000)] + [
    _with('{"b": ' * n + "1" + "}" * n) for n in (999, 30_000)] + [
    ('{"a": ' + "[" * n + "]" * n + ', "event_time": ' + TIME + "}").encode() for n in (1000, 30_000)]


def payloads() -> list[bytes]:
    generated = [json.dumps(e).encode() for _, e in islice(events(seed=7), 300)]
    hostile = [h.payload for h in corpus(datetime(2026, 12, 3, 10, 0, tzinfo=UTC)) if h.payload is not None]
    return generated + hostile + [_member(t) for t in TIMES] + HOSTILE_JSON + NESTING


def test_the_event_time_function_returns_what_flinks_own_functions_return(tmp_path: Path) -> None:
    runtime = Runtime(Settings())
    ensure_flink_functions(runtime)
    cases = payloads()
    (tmp_path / "payloads.json").write_text(json.dumps([base64.b64encode(p).decode() for p in cases]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["JAVA_HOME"] = str(runtime.java17_home)
    result = subprocess.run([str(runtime.job_python), str(REPO_ROOT / "tests" / "flink" / "event_time_probe.py"),
                             str(tmp_path / "payloads.json")], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {r["id"]: r for r in (json.loads(line[4:]) for line in result.stdout.splitlines()
                                 if line.startswith("ROW "))}
    assert sorted(rows) == list(range(len(cases)))
    differ = [(i, len(cases[i]), cases[i][:100], r["function"], r["flink"])
              for i, r in rows.items() if r["function"] != r["flink"]]
    assert not differ, differ
    # The comparison is not vacuous: the generated events all have a time, and the cases above cover
    # both outcomes.
    first = json.loads(cases[0])["event_time"]
    assert rows[0]["function"] == first.replace("T", " ").removesuffix("Z").removesuffix("+00:00")[:23]
    times = [r["function"] for r in rows.values()]
    assert sum(t is not None for t in times) > 300 and sum(t is None for t in times) > 50

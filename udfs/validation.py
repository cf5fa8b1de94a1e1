"""Validation of raw event payloads against declarative rules (rules/events.toml).

Every record yields either a parsed record or the list of failures; nothing raises, whatever the
bytes are. Standard library only."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # the stdlib parser alone gives the same results, slower
    _orjson = None  # type: ignore[assignment]

from udfs import pii
from udfs.errors import FlowlakeError, read_toml
from udfs.masking import Policy

RULES_FILE = Path(__file__).resolve().parent / "rules" / "events.toml"
# Names carry no checkable content: they can be masked, not validated.
MASKABLE_TYPES = (*pii.ENTITY_TYPES, "PERSON")
POLICIES = tuple(policy.value for policy in Policy)
_TYPE_NAMES = ("string", "integer", "number", "boolean", "timestamp", "array", "object")


@dataclass(frozen=True, slots=True)
class Failure:
    rule_id: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Result:
    record: dict[str, Any] | None
    failures: tuple[Failure, ...] = field(default_factory=tuple)
    event_type: str | None = None  # when the payload parsed far enough to name one

    @property
    def valid(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Rules:
    max_payload_bytes: int
    common: Mapping[str, Mapping[str, Any]]
    types: Mapping[str, Mapping[str, Mapping[str, Any]]]
    # Field rules for the objects inside arrays, named by an array field's `each`.
    elements: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)


class RulesError(FlowlakeError, ValueError):
    """The rules file itself is wrong: found at load time, never per record."""


def _scopes(rules: Rules) -> list[tuple[str, Mapping[str, Mapping[str, Any]]]]:
    return [("common", rules.common), *rules.types.items(), *rules.elements.items()]


def _check_rule_file(rules: Rules) -> None:
    for scope, fields in _scopes(rules):
        for name, spec in fields.items():
            if spec.get("type") not in _TYPE_NAMES:
                raise RulesError(f"{scope}.{name}: type must be one of {_TYPE_NAMES}, not {spec.get('type')!r}")
            if "regex" in spec:
                re.compile(spec["regex"])
            if "pii" in spec and spec["pii"] not in MASKABLE_TYPES:
                raise RulesError(f"{scope}.{name}: unknown pii type {spec['pii']!r}; expected one of {MASKABLE_TYPES}")
            for key in ("mask", "scan"):
                if key in spec and spec[key] not in POLICIES:
                    raise RulesError(f"{scope}.{name}: {key} must be one of {POLICIES}, not {spec[key]!r}")
            if "mask" in spec and "pii" not in spec:
                raise RulesError(f"{scope}.{name}: mask needs pii = <entity type> (the hash and redact label)")
            if "token" in spec and ("mask" not in spec or spec["token"] in fields):
                raise RulesError(f"{scope}.{name}: token = {spec['token']!r} needs mask and a name no field has")
            if "count" in spec and (spec["type"] != "array" or spec["count"] in fields):
                raise RulesError(f"{scope}.{name}: count = {spec['count']!r} needs type = \"array\" and a name no "
                                 "field has")
            if "each" in spec and (spec["type"] != "array" or spec["each"] not in rules.elements):
                raise RulesError(f"{scope}.{name}: each = {spec['each']!r} needs type = \"array\" and a "
                                 f"[elements.{spec['each']}] table; have {sorted(rules.elements)}")


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    raw = read_toml(path, RulesError, "validation rules")
    try:
        rules = Rules(raw["limits"]["max_payload_bytes"], raw["common"], raw["types"], raw.get("elements", {}))
    except KeyError as exc:
        raise RulesError(f"{path}: the [{exc.args[0]}] section is missing (limits.max_payload_bytes, [common] "
                         "and [types.<event type>] are required)") from None
    try:
        _check_rule_file(rules)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc}") from None
    return rules


PAYLOAD_RULE_IDS = ("payload.missing", "payload.size", "payload.encoding", "payload.json",
                    "payload.duplicate_key", "payload.object", "common.event_type.unknown")
_CHECK_KEYS = ("enum", "min", "max", "min_length", "max_length", "min_items", "max_items", "regex", "pii")


def rule_ids(rules: Rules) -> list[str]:
    """Every rule id validate() can report with these rules (for metrics registered up front)."""
    ids = list(PAYLOAD_RULE_IDS)

    def field_ids(scope: str, fields: Mapping[str, Mapping[str, Any]]) -> None:
        for name, spec in fields.items():
            checks = ["required"] if spec.get("required") else []
            checks += ["type", *(key for key in _CHECK_KEYS if key in spec)]
            if "pii" in checks and spec["pii"] not in pii.ENTITY_TYPES:
                checks.remove("pii")
            if spec["type"] == "timestamp":
                checks += ["format", "future", "past"]
            ids.extend(f"{scope}.{name}.{check}" for check in checks)
            if "each" in spec:
                ids.append(f"{scope}.{name}[].type")
                field_ids(f"{scope}.{name}[]", rules.elements[spec["each"]])

    for scope, fields in [("common", rules.common), *rules.types.items()]:
        field_ids(scope, fields)
    return ids


# RFC 3339 in UTC: what the Flink job parses the same way for its event-time watermarks
# (sql/flink/source_kafka_events.sql).
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|\+00:00)", re.ASCII)


def _parse_timestamp(value: str) -> datetime | None:
    if not _RFC3339_UTC.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    """A rule's pattern as its author means it: \\d, \\w and \\s match ASCII only (not Arabic-Indic digits),
    and a final $ is the end of the text (Python's $ also matches before a trailing newline)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on duplicate keys (first or last wins): a record two readers see differently
    # is refused, not guessed at.
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _DuplicateKey(duplicate)
    return record


# A \\uD800-\\uDFFF escape: fine in a pair (an emoji), not alone: a lone surrogate is no character and
# cannot be written as UTF-8 downstream.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(record: Any) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_Check = Callable[[Mapping[str, Any], datetime], list[Failure]]
_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "timestamp": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _length_at_least(limit: int) -> Callable[[Any], bool]:
    return lambda v: not len(v) < limit


def _length_at_most(limit: int) -> Callable[[Any], bool]:
    return lambda v: not len(v) > limit


def _always(failure: Failure) -> Callable[[Any], Failure]:
    return lambda _v: failure


def _value_checks(rule: str, name: str, spec: Mapping[str, Any]) -> list[tuple[Callable[[Any], bool],
                                                                                Callable[[Any], Failure]]]:
    """(passes, failure) per check of a field's value once its type is right, in reporting order."""
    checks: list[tuple[Callable[[Any], bool], Callable[[Any], Failure]]] = []
    if "enum" in spec:
        allowed = spec["enum"]
        checks.append((lambda v: v in allowed,
                       lambda v: Failure(f"{rule}.enum", name, f"{name}={v!r} is not one of {allowed}")))
    if "min" in spec:
        low = spec["min"]
        checks.append((lambda v: not v < low, lambda v: Failure(f"{rule}.min", name, f"{name}={v} is below {low}")))
    if "max" in spec:
        high = spec["max"]
        checks.append((lambda v: not v > high, lambda v: Failure(f"{rule}.max", name, f"{name}={v} is above {high}")))
    for key, at_least, text in (("min_length", True, "is shorter than"), ("max_length", False, "is longer than"),
                                ("min_items", True, "has fewer than"), ("max_items", False, "has more than")):
        if key in spec:
            limit, items = spec[key], " items" if key.endswith("items") else ""
            failure = Failure(f"{rule}.{key}", name, f"{name} {text} {limit}{items}")
            checks.append((_length_at_least(limit) if at_least else _length_at_most(limit), _always(failure)))
    if "regex" in spec:
        search = _regex(spec["regex"]).search
        regex_failure = Failure(f"{rule}.regex", name, f"{name} does not match {spec['regex']}")
        checks.append((lambda v: search(v) is not None, _always(regex_failure)))
    if spec.get("pii") in pii.ENTITY_TYPES:
        entity = spec["pii"]
        pii_failure = Failure(f"{rule}.pii", name, f"{name} is not a valid {entity}")
        checks.append((lambda v: pii.is_valid(entity, v), _always(pii_failure)))
    return checks


def _compile_field(scope: str, name: str, spec: Mapping[str, Any], rules: Rules) -> _Check:
    """One field's rules as a function of (record, now), with the spec read once, not per record."""
    rule = f"{scope}.{name}"
    missing = [Failure(f"{rule}.required", name, f"{name} is missing")] if spec.get("required") else []
    type_name = spec["type"]
    type_ok = _TYPE_TESTS[type_name]
    checks = _value_checks(rule, name, spec)
    timestamp = _compile_timestamp(rule, name, spec) if type_name == "timestamp" else None
    elements = _compile_elements(rule, name, rules.elements[spec["each"]], rules) if "each" in spec else None

    def check(record: Mapping[str, Any], now: datetime) -> list[Failure]:
        value = record.get(name)
        if value is None:
            return list(missing)
        if not type_ok(value):
            return [Failure(f"{rule}.type", name, f"{name} must be {type_name}, got {type(value).__name__}")]
        failures = [failure(value) for passes, failure in checks if not passes(value)] if checks else []
        if timestamp is not None:
            failures += timestamp(value, now)
        if elements is not None and not failures:
            failures += elements(value, now)
        return failures

    return check


def _compile_fields(scope: str, fields: Mapping[str, Mapping[str, Any]], rules: Rules) -> _Check:
    checks = [_compile_field(scope, name, spec, rules) for name, spec in fields.items()]

    def check(record: Mapping[str, Any], now: datetime) -> list[Failure]:
        failures: list[Failure] = []
        for field_check in checks:
            found = field_check(record, now)
            if found:
                failures += found
        return failures

    return check


def _compile_elements(rule: str, name: str, fields: Mapping[str, Mapping[str, Any]],
                      rules: Rules) -> Callable[[list[Any], datetime], list[Failure]]:
    """The first element that breaks a rule, with every failure it has (one bad line of a thousand
    makes one quarantine reason list, not a thousand)."""
    check_element = _compile_fields(f"{rule}[]", fields, rules)

    def check(elements: list[Any], now: datetime) -> list[Failure]:
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                where = f"{name}[{index}]"
                return [Failure(f"{rule}[].type", where, f"{where} must be object, got {type(element).__name__}")]
            failures = check_element(element, now)
            if failures:
                where = f"{name}[{index}]"
                return [Failure(f.rule_id, f"{where}.{f.field}", f"{where}.{f.reason}") for f in failures]
        return []

    return check


def _compile_timestamp(rule: str, name: str, spec: Mapping[str, Any]) -> Callable[[str, datetime], list[Failure]]:
    future = timedelta(seconds=spec["max_future_seconds"]) if "max_future_seconds" in spec else None
    not_before = datetime.fromisoformat(spec["not_before"].replace("Z", "+00:00")) if "not_before" in spec else None
    bad_format = Failure(f"{rule}.format", name, f"{name} is not RFC 3339 in UTC (2026-01-31T12:00:00.000Z)")
    too_late = Failure(f"{rule}.future", name, f"{name} is more than {spec.get('max_future_seconds')}s in the future")
    too_early = Failure(f"{rule}.past", name, f"{name} is before {spec.get('not_before')}")

    def check(value: str, now: datetime) -> list[Failure]:
        parsed = _parse_timestamp(value)
        if parsed is None:
            return [bad_format]
        if future is not None and parsed > now + future:
            return [too_late]
        if not_before is not None and parsed < not_before:
            return [too_early]
        return []

    return check


@dataclass(frozen=True)
class _Compiled:
    rules: Rules  # kept so that its id is not reused while this entry lives
    common: _Check
    types: Mapping[str, _Check]


_COMPILED: dict[int, _Compiled] = {}


def _compiled(rules: Rules) -> _Compiled:
    compiled = _COMPILED.get(id(rules))
    if compiled is None or compiled.rules is not rules:
        compiled = _Compiled(rules, _compile_fields("common", rules.common, rules),
                             {name: _compile_fields(name, fields, rules) for name, fields in rules.types.items()})
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        _COMPILED[id(rules)] = compiled
    return compiled


# Nesting this deep may exceed the stdlib parser's recursion limit where orjson's (1024) does not:
# such payloads go to the stdlib parser, whose verdict stays the reference.
_FAST_MAX_BRACKETS = 200
# orjson reads an integer beyond 64 bits as a float; the stdlib parser keeps it exact.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _loads(text: str) -> Any:
    """json.loads with duplicate keys refused (_DuplicateKey), fast. orjson keeps the last of
    duplicate keys silently; a dropped pair shows as fewer colons when the parsed value is written
    back (keys, and colons inside strings, are all that carry one) than in the text. Anything orjson
    refuses or may read otherwise (an escaped colon, \\u003a, could hide the difference; very deep
    nesting; integers past 64 bits) goes to the stdlib parser: same records, same errors as it gives."""
    if (_orjson is not None and "\\u003" not in text and text.count("[") + text.count("{") <= _FAST_MAX_BRACKETS
            and not _LONG_DIGITS.search(text)):
        try:
            record = _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
        else:
            if _orjson.dumps(record).count(b":") == text.count(":"):
                return record
    return json.loads(text, object_pairs_hook=_object_without_duplicate_keys)


def validate(payload: bytes | str | None, now: datetime | None = None, rules: Rules | None = None) -> Result:
    """Parse and check one raw payload. Never raises for bad input."""
    rules = rules or load_rules()
    now = now or datetime.now(UTC)
    if payload is None:
        return Result(None, (Failure("payload.missing", "", "the record has no value"),))
    size = len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8", "surrogatepass"))
    if size > rules.max_payload_bytes:
        return Result(None, (Failure("payload.size", "", f"payload is {size} bytes, the limit is "
                                                           f"{rules.max_payload_bytes}"),))
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Result(None, (Failure("payload.encoding", "", f"payload is not UTF-8: {exc.reason} "
                                                                   f"at byte {exc.start}"),))
    try:
        record = _loads(payload)
    except _DuplicateKey as exc:
        return Result(None, (Failure("payload.duplicate_key", "", f"key {str(exc)[:64]!r} occurs twice in an object"),))
    except (ValueError, RecursionError) as exc:
        return Result(None, (Failure("payload.json", "", f"payload is not JSON: {str(exc)[:200]}"),))
    if _SURROGATE_ESCAPE.search(payload) and _has_lone_surrogate(record):
        return Result(None, (Failure("payload.encoding", "", "payload escapes a lone UTF-16 surrogate "
                                                               "(\\ud800-\\udfff), which is no character"),))
    if not isinstance(record, dict):
        return Result(None, (Failure("payload.object", "", f"payload is a JSON {type(record).__name__}, "
                                                             f"not an object"),))
    compiled = _compiled(rules)
    failures = compiled.common(record, now)
    event_type = record.get("event_type")
    if isinstance(event_type, str):
        check_type = compiled.types.get(event_type)
        if check_type is None:
            failures.append(Failure("common.event_type.unknown", "event_type",
                                    f"unknown event type {event_type[:64]!r}"))
        else:
            failures += check_type(record, now)
    return Result(None if failures else record, tuple(failures),
                  event_type if isinstance(event_type, str) else None)

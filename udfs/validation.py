"""Validation of raw event payloads against declarative rules (rules/events.toml).

Every record yields either a parsed record or the list of failures; nothing raises, whatever the
bytes are. Standard library only."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import tomllib

from udfs import pii
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


class RulesError(ValueError):
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
            if "each" in spec and (spec["type"] != "array" or spec["each"] not in rules.elements):
                raise RulesError(f"{scope}.{name}: each = {spec['each']!r} needs type = \"array\" and a "
                                 f"[elements.{spec['each']}] table; have {sorted(rules.elements)}")


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    raw = tomllib.loads(path.read_text())
    rules = Rules(raw["limits"]["max_payload_bytes"], raw["common"], raw["types"], raw.get("elements", {}))
    _check_rule_file(rules)
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


def _type_ok(value: Any, type_name: str) -> bool:
    if type_name == "string" or type_name == "timestamp":
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


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


def _check_field(scope: str, name: str, spec: Mapping[str, Any], record: Mapping[str, Any],
                 now: datetime, rules: Rules) -> list[Failure]:
    rule = f"{scope}.{name}"
    if name not in record or record[name] is None:
        return [Failure(f"{rule}.required", name, f"{name} is missing")] if spec.get("required") else []
    value = record[name]
    type_name = spec["type"]
    if not _type_ok(value, type_name):
        return [Failure(f"{rule}.type", name, f"{name} must be {type_name}, got {type(value).__name__}")]
    failures = []
    if "enum" in spec and value not in spec["enum"]:
        failures.append(Failure(f"{rule}.enum", name, f"{name}={value!r} is not one of {spec['enum']}"))
    if "min" in spec and value < spec["min"]:
        failures.append(Failure(f"{rule}.min", name, f"{name}={value} is below {spec['min']}"))
    if "max" in spec and value > spec["max"]:
        failures.append(Failure(f"{rule}.max", name, f"{name}={value} is above {spec['max']}"))
    if "min_length" in spec and len(value) < spec["min_length"]:
        failures.append(Failure(f"{rule}.min_length", name, f"{name} is shorter than {spec['min_length']}"))
    if "max_length" in spec and len(value) > spec["max_length"]:
        failures.append(Failure(f"{rule}.max_length", name, f"{name} is longer than {spec['max_length']}"))
    if "min_items" in spec and len(value) < spec["min_items"]:
        failures.append(Failure(f"{rule}.min_items", name, f"{name} has fewer than {spec['min_items']} items"))
    if "max_items" in spec and len(value) > spec["max_items"]:
        failures.append(Failure(f"{rule}.max_items", name, f"{name} has more than {spec['max_items']} items"))
    if "regex" in spec and not _regex(spec["regex"]).search(value):
        failures.append(Failure(f"{rule}.regex", name, f"{name} does not match {spec['regex']}"))
    if spec.get("pii") in pii.ENTITY_TYPES and not pii.is_valid(spec["pii"], value):
        failures.append(Failure(f"{rule}.pii", name, f"{name} is not a valid {spec['pii']}"))
    if type_name == "timestamp":
        failures += _check_timestamp(rule, name, value, spec, now)
    if "each" in spec and not failures:
        failures += _check_elements(rule, name, value, rules.elements[spec["each"]], now, rules)
    return failures


def _check_elements(rule: str, name: str, elements: list[Any], fields: Mapping[str, Mapping[str, Any]],
                    now: datetime, rules: Rules) -> list[Failure]:
    """The first element that breaks a rule, with every failure it has (one bad line of a thousand
    makes one quarantine reason list, not a thousand)."""
    for index, element in enumerate(elements):
        where = f"{name}[{index}]"
        if not isinstance(element, dict):
            return [Failure(f"{rule}[].type", where, f"{where} must be object, got {type(element).__name__}")]
        failures = [Failure(f.rule_id, f"{where}.{f.field}", f"{where}.{f.reason}")
                    for field_name, spec in fields.items()
                    for f in _check_field(f"{rule}[]", field_name, spec, element, now, rules)]
        if failures:
            return failures
    return []


def _check_timestamp(rule: str, name: str, value: str, spec: Mapping[str, Any], now: datetime) -> list[Failure]:
    parsed = _parse_timestamp(value)
    if parsed is None:
        return [Failure(f"{rule}.format", name, f"{name} is not RFC 3339 in UTC (2026-01-31T12:00:00.000Z)")]
    if "max_future_seconds" in spec and parsed > now + timedelta(seconds=spec["max_future_seconds"]):
        return [Failure(f"{rule}.future", name, f"{name} is more than {spec['max_future_seconds']}s in the future")]
    if "not_before" in spec and parsed < datetime.fromisoformat(spec["not_before"].replace("Z", "+00:00")):
        return [Failure(f"{rule}.past", name, f"{name} is before {spec['not_before']}")]
    return []


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
        record = json.loads(payload, object_pairs_hook=_object_without_duplicate_keys)
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
    failures: list[Failure] = []
    for name, spec in rules.common.items():
        failures += _check_field("common", name, spec, record, now, rules)
    event_type = record.get("event_type")
    if isinstance(event_type, str):
        type_rules = rules.types.get(event_type)
        if type_rules is None:
            failures.append(Failure("common.event_type.unknown", "event_type",
                                    f"unknown event type {event_type[:64]!r}"))
        else:
            for name, spec in type_rules.items():
                failures += _check_field(event_type, name, spec, record, now, rules)
    return Result(None if failures else record, tuple(failures),
                  event_type if isinstance(event_type, str) else None)

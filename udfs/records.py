"""From a raw Kafka record to what silver stores: validated against the rules, PII masked by each
field's policy (udfs/rules/events.toml), as compact JSON with only the fields the rules name.

Pure and standard library only; the Flink job calls it through udfs.flink_udfs.CheckEvent."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from udfs import privacy
from udfs.masking import Policy, hash_token, load_hash_key, mask_text_with_findings, mask_value
from udfs.validation import Rules, load_rules, validate

Fields = Mapping[str, Mapping[str, Any]]  # field name -> its rule spec
PRIVACY_EVENT_TYPE = "support_message"  # whose `message` text is classified for privacy requests
USER_ID = "USER_ID"  # the entity type of user ids in tokens: hash_token(user_id, USER_ID, key)
ORDER_TYPE = "order"  # whose `items` become order_lines, one "<category>|<quantity>|<unit_price>" each
# What the sinks read from the source's own columns, not from the check.
SOURCE_FIELDS = ("event_type", "event_time")


def check_columns(rules: Rules) -> tuple[str, ...]:
    """The columns the check hands to the job's sinks (udfs.flink_udfs.CHECK_RESULT), so that no sink parses
    the record again: every field the rules name, in the file's order (common, then each event type's; a
    field several types share, once), a field's token after it, an array's element count (`count =
    "<column>"`) after it. Values are text as masked, numbers as their JSON text (cast in SQL), arrays
    as JSON. A new field in the rules is a new column at the end: the check's row type grows, and the
    job's existing operators keep their uids."""
    names: list[str] = []
    for fields in (rules.common, *rules.types.values()):
        for name, spec in fields.items():
            for column in (name, spec.get("token"), spec.get("count")):
                if column and column not in names and column not in SOURCE_FIELDS:
                    names.append(column)
    return tuple(names)


_RULES = load_rules()
COLUMNS = check_columns(_RULES)
NO_COLUMNS: tuple[str | None, ...] = (None,) * len(COLUMNS)
# (column, array field) of every element count.
_COUNTS = tuple((COLUMNS.index(spec["count"]), name) for fields in (_RULES.common, *_RULES.types.values())
                for name, spec in fields.items() if "count" in spec)


@dataclass(frozen=True, slots=True)
class Checked:
    valid: bool
    event_type: str | None
    failures: list[str]  # "<rule id>: <reason>", empty when valid
    record: str | None  # the masked record as JSON, when valid
    findings: list[str]  # entity type of every masked value or finding, for metrics
    # "<intent>:<confidence>:<decided by>" per privacy request a support message makes (udfs.privacy: the rules,
    # "rule:<intent>.<n>"), strongest first. The learned model (udfs.privacy_model) is not in the job yet.
    privacy: list[str] = field(default_factory=list)
    user_token: str | None = None  # the user's keyed hash, when the message makes a privacy request
    columns: tuple[str | None, ...] = NO_COLUMNS  # the masked record's values by COLUMNS, when valid
    order_lines: list[str] | None = None  # "<category>|<quantity>|<unit_price>" per line of an order


def needs_hash_key(rules: Rules | None = None) -> bool:
    rules = rules or load_rules()
    return PRIVACY_EVENT_TYPE in rules.types or any(_uses_hash(fields, rules.elements)
                                                    for fields in (rules.common, *rules.types.values()))


def _uses_hash(fields: Mapping[str, Mapping[str, Any]], elements: Mapping[str, Fields]) -> bool:
    return any(Policy.HASH.value in (spec.get("mask"), spec.get("scan")) or "token" in spec
               or ("each" in spec and _uses_hash(elements[spec["each"]], elements)) for spec in fields.values())


def check_event(payload: bytes | str | None, received_at: datetime, key: bytes | None = None,
                rules: Rules | None = None) -> Checked:
    """Validate one payload as of `received_at` (the Kafka timestamp, so that reprocessing judges it
    the same) and mask what silver keeps. Never raises for bad input."""
    rules = rules or load_rules()
    result = validate(payload, now=received_at, rules=rules)
    if result.record is None or result.event_type is None:
        return Checked(False, result.event_type, [str(f) for f in result.failures], None, [])
    fields = {**rules.common, **rules.types[result.event_type]}
    record, findings = mask_record(result.record, fields, key, rules.elements)
    masked, columns = to_json(record), to_columns(record)
    lines = order_lines(record.get("items")) if result.event_type == ORDER_TYPE else None
    if result.event_type != PRIVACY_EVENT_TYPE:
        return Checked(True, result.event_type, [], masked, findings, columns=columns, order_lines=lines)
    # Classified on the text as written: the intent is no personal data, and masking would hide cues.
    intents = privacy.classify(result.record.get("message"))
    if not intents:
        return Checked(True, result.event_type, [], masked, findings, columns=columns)
    token = hash_token(str(result.record["user_id"]), USER_ID, key or load_hash_key())
    return Checked(True, result.event_type, [], masked, findings,
                   [f"{intent.label}:{intent.confidence:.2f}:{intent.by}" for intent in intents], token, columns)


def to_json(value: Any) -> str:
    """Compact JSON, non-ASCII as is (orjson; the standard library's for what orjson refuses, such as
    integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return to_json(value)


def to_columns(record: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The masked record's values in COLUMNS order (None where it has no such field)."""
    values = [_text(record.get(name)) for name in COLUMNS]
    for column, array in _COUNTS:
        items = record.get(array)
        if isinstance(items, list):
            values[column] = str(len(items))
    return tuple(values)


def order_lines(items: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """One "<category>|<quantity>|<unit_price>" per validated order line (categories cannot hold a |)."""
    return [f"{line['category']}|{line['quantity']!r}|{line['unit_price']!r}" for line in items or ()]


def mask_record(record: Mapping[str, Any], fields: Fields, key: bytes | None = None,
                elements: Mapping[str, Fields] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The fields the rules name, each masked by its policy; fields the rules do not name are left
    out, also inside the objects of an array with `each` element rules. A field with `token =
    "<name>"` also gets its keyed hash under that name (a join key for a masked value)."""
    elements = elements or {}
    if key is None and _uses_hash(fields, elements):
        key = load_hash_key()
    out: dict[str, Any] = {}
    findings: list[str] = []
    for name, spec in fields.items():
        if name not in record:
            continue
        value = record[name]
        if "mask" in spec and isinstance(value, str) and value:
            if "token" in spec:
                out[spec["token"]] = mask_value(value, spec["pii"], Policy.HASH, key)
            value = mask_value(value, spec["pii"], Policy(spec["mask"]), key)
            findings.append(spec["pii"])
        elif "each" in spec and isinstance(value, list):
            masked = [mask_record(element, elements[spec["each"]], key, elements) for element in value]
            value = [element for element, _ in masked]
            findings += [finding for _, found in masked for finding in found]
        elif "scan" in spec:
            value = _scan(value, Policy(spec["scan"]), key, findings)
        out[name] = value
    return out, findings


def _scan(value: Any, policy: Policy, key: bytes | None, findings: list[str]) -> Any:
    if isinstance(value, str):
        masked, found = mask_text_with_findings(value, policy, key)
        findings.extend(f.entity_type for f in found)
        return masked
    if isinstance(value, list):
        return [_scan(v, policy, key, findings) for v in value]
    if isinstance(value, dict):
        return {k: _scan(v, policy, key, findings) for k, v in value.items()}
    return value

"""PyFlink wrappers around the pure validation and PII code. Job environment only (imports pyflink).

Each function comes as a row UDF and as a vectorised (Pandas) UDF over the same logic; jobs pick
the vectorised ones, which amortise the Python bridge over a whole Arrow batch. Metrics are
registered in open(), as Flink requires: records validated, records invalid, failures per rule, PII
findings per entity type (rule and type as labels in Prometheus)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

from udfs import privacy, records, validation
from udfs.masking import Policy, load_checked_hash_key, load_hash_key, mask_text_with_findings
from udfs.pii import ENTITY_TYPES

VALIDATION_RESULT = DataTypes.ROW([
    DataTypes.FIELD("valid", DataTypes.BOOLEAN()),
    DataTypes.FIELD("event_type", DataTypes.STRING()),
    DataTypes.FIELD("failures", DataTypes.ARRAY(DataTypes.STRING())),
])


def _flowlake_group(function_context: FunctionContext) -> Any:
    return function_context.get_metric_group().add_group("flowlake")


def _pii_counters(function_context: FunctionContext, entity_types: Iterable[str]) -> dict[str, Any]:
    """flowlake.pii_type=<type>.findings: in Prometheus one metric, ..._flowlake_pii_type_findings,
    with a pii_type label."""
    group = _flowlake_group(function_context)
    return {t: group.add_group("pii_type", t).counter("findings") for t in entity_types}


class _ValidationMetrics:
    """records_validated, records_invalid and, per rule, rule=<rule id>.failures (in Prometheus one
    metric, ..._flowlake_rule_failures, with a rule label), each rule the rules file can report
    registered up front (in open())."""

    def __init__(self, function_context: FunctionContext, rules: validation.Rules) -> None:
        group = _flowlake_group(function_context)
        self.validated = group.counter("records_validated")
        self.invalid = group.counter("records_invalid")
        self.by_rule = {rule: group.add_group("rule", rule).counter("failures") for rule in validation.rule_ids(rules)}

    def count(self, failed_rule_ids: Iterable[str]) -> None:
        self.validated.inc()
        invalid = False
        for rule_id in failed_rule_ids:
            invalid = True
            counter = self.by_rule.get(rule_id)
            if counter is not None:
                counter.inc()
        if invalid:
            self.invalid.inc()


class _Validate(ScalarFunction):  # type: ignore[misc]
    def open(self, function_context: FunctionContext) -> None:
        self.metrics = _ValidationMetrics(function_context, validation.load_rules())

    def _one(self, payload: str | None) -> tuple[bool, str | None, list[str]]:
        result = validation.validate(payload)
        self.metrics.count(f.rule_id for f in result.failures)
        return result.valid, result.event_type, [str(f) for f in result.failures]


class ValidateEvent(_Validate):
    def eval(self, payload: str | None) -> Any:
        from pyflink.common import Row

        valid, event_type, failures = self._one(payload)
        return Row(valid, event_type, failures)


class ValidateEventBatch(_Validate):
    def eval(self, payloads: pd.Series) -> pd.DataFrame:
        rows = [self._one(p) for p in payloads]
        return pd.DataFrame(rows, columns=["valid", "event_type", "failures"])


class _Mask(ScalarFunction):  # type: ignore[misc]
    def __init__(self, policy: str) -> None:
        self.policy = Policy(policy)

    def open(self, function_context: FunctionContext) -> None:
        # The key is read on the worker, from its environment: it is never part of the job graph.
        self.key = load_hash_key() if self.policy is Policy.HASH else None
        self.findings = _pii_counters(function_context, ENTITY_TYPES)

    def _one(self, text: str | None) -> str | None:
        masked, findings = mask_text_with_findings(text, self.policy, self.key)
        for finding in findings:
            self.findings[finding.entity_type].inc()
        return masked


class MaskText(_Mask):
    def eval(self, text: str | None) -> str | None:
        return self._one(text)


class MaskTextBatch(_Mask):
    def eval(self, texts: pd.Series) -> pd.Series:
        # A plain loop beat pandas string methods for regex work (measured, see STACK.md).
        return pd.Series([self._one(t) for t in texts], dtype=object)


CHECK_RESULT = DataTypes.ROW([
    DataTypes.FIELD("valid", DataTypes.BOOLEAN()),
    DataTypes.FIELD("event_type", DataTypes.STRING()),
    DataTypes.FIELD("failures", DataTypes.ARRAY(DataTypes.STRING())),
    DataTypes.FIELD("record", DataTypes.STRING()),
    DataTypes.FIELD("privacy", DataTypes.ARRAY(DataTypes.STRING())),
    DataTypes.FIELD("user_token", DataTypes.STRING()),
    DataTypes.FIELD("order_lines", DataTypes.ARRAY(DataTypes.STRING())),
    # The record's fields for the sinks, parsed once here (udfs.records.COLUMNS): strings, cast in SQL.
    *(DataTypes.FIELD(name, DataTypes.STRING()) for name in records.COLUMNS),
])
CHECK_COLUMNS = ["valid", "event_type", "failures", "record", "privacy", "user_token", "order_lines",
                 *records.COLUMNS]


class PoisonPill(RuntimeError):
    """Fault injection: the UDF fails on a payload, as a bug in it would."""


class CheckEventBatch(ScalarFunction):  # type: ignore[misc]
    """check_event(payload BYTES, kafka_timestamp TIMESTAMP_LTZ(3)): udfs.records.check_event over an
    Arrow batch: validity, event type, failed rules, the masked record silver stores, and the privacy
    requests a support message makes ("<intent>:<confidence>") with the user's token.

    `key_fingerprint` is the submitting client's key (udfs.masking.key_fingerprint): a worker with
    another key, or none, fails in open() before it reads a record. `poison_pill` (tests only): fail on
    every payload that contains these bytes."""

    def __init__(self, key_fingerprint: str = "", poison_pill: bytes = b"") -> None:
        self.key_fingerprint = key_fingerprint
        self.poison_pill = poison_pill

    def open(self, function_context: FunctionContext) -> None:
        rules = validation.load_rules()
        # The key is read on the worker, from its environment: only its fingerprint is in the job graph.
        self.key = load_checked_hash_key(self.key_fingerprint) if records.needs_hash_key(rules) else None
        self.metrics = _ValidationMetrics(function_context, rules)
        self.findings = _pii_counters(function_context, validation.MASKABLE_TYPES)
        group = _flowlake_group(function_context)
        self.privacy = {i: group.add_group("intent", i).counter("privacy_requests") for i in privacy.INTENTS}

    def eval(self, payloads: pd.Series, received: pd.Series) -> pd.DataFrame:
        rows = []
        for payload, received_at in zip(payloads, received, strict=True):
            if self.poison_pill and payload is not None and self.poison_pill in payload:
                raise PoisonPill(f"poison pill {self.poison_pill!r} in a payload (fault injection: --poison-pill)")
            checked = records.check_event(payload, received_at.to_pydatetime(), self.key)
            self.metrics.count(failure.split(":", 1)[0] for failure in checked.failures)
            for entity_type in checked.findings:
                self.findings[entity_type].inc()
            for item in checked.privacy:
                self.privacy[item.split(":", 1)[0]].inc()
            rows.append((checked.valid, checked.event_type, checked.failures, checked.record, checked.privacy,
                         checked.user_token, checked.order_lines, *checked.columns))
        return pd.DataFrame(rows, columns=CHECK_COLUMNS)


class IdentityBatch(ScalarFunction):  # type: ignore[misc]
    """identity_bytes(payload BYTES): the payloads as they came, over an Arrow batch. Benchmarks only:
    what crossing into Python and back costs by itself."""

    def eval(self, payloads: pd.Series) -> pd.Series:
        return payloads


def register(t_env: Any, mask_policy: str = "redact", vectorised: bool = True, key_fingerprint: str = "",
             poison_pill: str = "", identity: bool = False) -> None:
    """Register flowlake's UDFs under their SQL names: check_event(payload, kafka_timestamp),
    validate_event(payload), mask_pii(text), and (benchmarks) identity_bytes(payload)."""
    if identity:
        t_env.create_temporary_function("identity_bytes", udf(IdentityBatch(), result_type=DataTypes.BYTES(),
                                                              func_type="pandas"))
    check = CheckEventBatch(key_fingerprint, poison_pill.encode())
    t_env.create_temporary_function("check_event", udf(check, result_type=CHECK_RESULT, func_type="pandas"))
    if vectorised:
        validate_udf = udf(ValidateEventBatch(), result_type=VALIDATION_RESULT, func_type="pandas")
        mask_udf = udf(MaskTextBatch(mask_policy), result_type=DataTypes.STRING(), func_type="pandas")
    else:
        validate_udf = udf(ValidateEvent(), result_type=VALIDATION_RESULT)
        mask_udf = udf(MaskText(mask_policy), result_type=DataTypes.STRING())
    t_env.create_temporary_function("validate_event", validate_udf)
    t_env.create_temporary_function("mask_pii", mask_udf)

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flowlake.cli import main

INPUT = 'Call me on +49 30 12345678\n{"msg": "mail anna@example.com", "n": ["4111 1111 1111 1111"]}\nnothing\n'


def test_scan_prints_findings_as_json_lines() -> None:
    result = CliRunner().invoke(main, ["pii", "scan", "-"], input=INPUT)
    assert result.exit_code == 0, result.output
    findings = [json.loads(line) for line in result.output.splitlines()]
    assert [(f["line"], f["field"], f["entity_type"]) for f in findings] == [
        (1, None, "PHONE_NUMBER"), (2, "msg", "EMAIL_ADDRESS"), (2, "n[0]", "CREDIT_CARD")]
    assert INPUT.splitlines()[0][findings[0]["start"]:findings[0]["end"]] == "+49 30 12345678"


def test_mask_keeps_json_structure() -> None:
    result = CliRunner().invoke(main, ["pii", "scan", "--mask", "redact", "-"], input=INPUT)
    assert result.output.splitlines() == [
        "Call me on <PHONE_NUMBER>", '{"msg": "mail <EMAIL_ADDRESS>", "n": ["<CREDIT_CARD>"]}', "nothing"]


def test_hash_without_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWLAKE_PII_HASH_KEY", raising=False)
    result = CliRunner().invoke(main, ["pii", "scan", "--mask", "hash", "-"], input=INPUT)
    assert result.exit_code != 0
    assert "FLOWLAKE_PII_HASH_KEY" in str(result.exception)

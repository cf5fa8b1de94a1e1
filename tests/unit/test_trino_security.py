"""The local Trino's users, passwords and rules, without Trino (tests/integration/test_trino_access.py
checks them on the real server)."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from flowlake.config import Settings
from flowlake.errors import FlowlakeError
from flowlake.keys import ensure_passwords, password_for, passwords_file
from flowlake.stack.services import LOCAL_CONFIGS, render
from flowlake.trino_security import GROUP_OF_ROLE, group_file_text, password_file_text, password_line


def test_password_line_is_pbkdf2_of_the_password_and_salt() -> None:
    salt = bytes(range(16))
    user, iterations, salt_hex, digest = password_line("analyst", "s3cret", salt, iterations=1000).split(":")
    assert (user, int(iterations), bytes.fromhex(salt_hex)) == ("analyst", 1000, salt)
    assert bytes.fromhex(digest) == hashlib.pbkdf2_hmac("sha1", b"s3cret", salt, 1000, dklen=32)
    assert password_line("analyst", "other", salt, 1000) != password_line("analyst", "s3cret", salt, 1000)


def test_password_file_has_a_fresh_salt_per_user_and_no_plain_password() -> None:
    text = password_file_text({"analyst": "pw-one", "engineer": "pw-one"})
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines] == ["analyst", "engineer"]
    assert lines[0].split(":")[2] != lines[1].split(":")[2]
    assert "pw-one" not in text


def test_group_file_puts_each_user_in_the_group_of_their_role() -> None:
    text = group_file_text({"ana": "analyst", "bob": "analyst", "eve": "engineer"})
    assert text == "analysts:ana,bob\nengineers:eve\n"


def test_passwords_are_generated_once_private_and_configured_ones_win(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = ensure_passwords(settings)
    assert set(first) == {"analyst", "engineer"} and first["analyst"] != first["engineer"]
    assert stat.S_IMODE(passwords_file(settings).stat().st_mode) == 0o600
    assert ensure_passwords(settings) == first
    configured = Settings(data_dir=tmp_path, trino_passwords={"analyst": "chosen"})
    assert ensure_passwords(configured)["analyst"] == "chosen"
    assert password_for(configured, "analyst") == "chosen"
    assert json.loads(passwords_file(settings).read_text())["analyst"] == first["analyst"]


def test_unknown_user_gets_an_error_that_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FlowlakeError, match="FLOWLAKE_TRINO_PASSWORDS"):
        password_for(Settings(data_dir=tmp_path), "mallory")


def test_flowlake_connects_as_an_engineer() -> None:
    with pytest.raises(ValueError, match="engineer role"):
        Settings(trino_user="analyst")
    with pytest.raises(ValueError, match="user names"):
        Settings(trino_users={"bad:name": "analyst"}, trino_user="bad:name")
    assert Settings(trino_users={"etl": "engineer"}, trino_user="etl").trino_user == "etl"


def test_rules_keep_raw_pii_schemas_from_analysts() -> None:
    rules = json.loads((LOCAL_CONFIGS / "trino" / "rules.json").read_text())
    groups = {rule["group"] for section in rules.values() for rule in section if "group" in rule}
    assert groups <= set(GROUP_OF_ROLE.values())
    analyst_tables = [r for r in rules["tables"] if r.get("group") == "analysts"]
    for rule in analyst_tables:
        assert rule["privileges"] == ["SELECT"]
        assert not {"bronze", "quarantine"} & set(rule["schema"].split("|"))
    assert rules["tables"][-1] == {"privileges": []}  # anything not matched: nothing


def test_trino_configs_render_completely(tmp_path: Path) -> None:
    src = LOCAL_CONFIGS / "trino"
    render(src / "config.properties", tmp_path / "config.properties", host="127.0.0.1", port=8080,
           https_port=8443, keystore="/k.pem", etc=tmp_path, internal_secret="s")
    props = dict(line.split("=", 1) for line in (tmp_path / "config.properties").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert props["http-server.authentication.type"] == "PASSWORD"
    assert props["http-server.https.enabled"] == "true"
    assert props["access-control.config-files"].split(",") == [
        f"{tmp_path}/access-control.properties", f"{tmp_path}/access-control-table-procedures.properties"]
    for name, values in [("password-authenticator.properties", {"password_file": "/p"}),
                         ("group-provider.properties", {"group_file": "/g"}),
                         ("access-control.properties", {"rules_file": "/r"})]:
        render(src / name, tmp_path / name, **values)

"""flowlake's UDFs inside a real PyFlink job (MiniCluster), checked row by row against the pure code."""

from __future__ import annotations

import json
import os
import subprocess
from itertools import islice
from pathlib import Path

import pytest

from flowlake.config import REPO_ROOT, Settings
from flowlake.generate import events
from flowlake.stack.runtime import Runtime
from udfs.masking import Policy, mask_text
from udfs.validation import validate

pytestmark = pytest.mark.integration

PAYLOADS = [json.dumps(e) for _, e in islice(events(seed=11), 40)] + [
    '{"event_type": "order"}',
    "not json at all, call +49 30 12345678",
    '{"event_id": "x", "event_type": "refund", "message": "card 4111 1111 1111 1111"}',
    "",
]


@pytest.mark.parametrize("mode", ["row", "vectorised"])
def test_udfs_match_the_pure_functions(mode: str, tmp_path: Path) -> None:
    runtime = Runtime(Settings())
    payload_file = tmp_path / "payloads.json"
    payload_file.write_text(json.dumps(PAYLOADS))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["JAVA_HOME"] = str(runtime.java17_home)
    result = subprocess.run([str(runtime.job_python), str(REPO_ROOT / "tests" / "flink" / "udf_probe.py"),
                             str(payload_file), mode], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {r["id"]: r for r in (json.loads(line[4:]) for line in result.stdout.splitlines()
                                 if line.startswith("ROW "))}
    assert sorted(rows) == list(range(len(PAYLOADS)))
    for i, payload in enumerate(PAYLOADS):
        expected = validate(payload)
        assert rows[i]["valid"] == expected.valid, payload
        assert rows[i]["event_type"] == expected.event_type
        assert rows[i]["failures"] == [str(f) for f in expected.failures]
        assert rows[i]["masked"] == mask_text(payload, Policy.REDACT)
    assert sum(r["valid"] for r in rows.values()) == 40
    assert rows[41]["masked"] == "not json at all, call <PHONE_NUMBER>"


def test_the_privacy_model_loads_in_the_job_environment_from_the_shipped_files_alone(tmp_path: Path) -> None:
    """A Python worker has what `flowlake submit` ships (udfs/ with its weights) and the job environment's
    packages, and no network: the model loads and scores there as on the control side."""
    from flowlake.clients.flink import stage_python_files
    from udfs.privacy_model import load_model

    stage = stage_python_files(tmp_path / "stage")
    runtime = Runtime(Settings())
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(stage), "HOME": str(tmp_path)}
    script = ("from udfs.privacy_model import load_model; m = load_model(); "
              "print(m.version, sorted((i.label, i.by) for i in m.classify('Bitte loeschen Sie mein Konto')))")
    result = subprocess.run(["unshare", "--net", str(runtime.job_python), "-c", script], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    model = load_model()
    expected = sorted((i.label, i.by) for i in model.classify("Bitte loeschen Sie mein Konto"))
    assert result.stdout.strip() == f"{model.version} {expected}" and expected

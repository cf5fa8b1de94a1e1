"""Which state of the ingest job maps back from a savepoint after a code change: the operators'
uids of the translated job, before and after the change, on the real catalog (tables from the
local stack). Flink maps state to operators by uid alone, so equal uids restore."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from flink_jobs import ingest
from flowlake.clients.flink import job_arguments
from flowlake.config import REPO_ROOT, Settings
from flowlake.stack.runtime import Runtime

pytestmark = pytest.mark.integration

# Transformations that are not operators (no state, no uid needed): how records are partitioned.
VIRTUAL = {"PartitionTransformation", "UnionTransformation"}
# The common code changes, appended to the job as a table appended to iceberg/registry.py appends its
# statement: a new silver table (an event type, from the deduplicated events) and a new gold aggregate.
NEW_STATEMENT = [
    "CREATE TEMPORARY TABLE refunds (event_id STRING, user_id STRING, order_id STRING) "
    "WITH ('connector' = 'blackhole')",
    "INSERT INTO refunds SELECT event_id, user_id, order_id FROM distinct_events WHERE event_type = 'refund'",
    "CREATE TEMPORARY TABLE events_per_minute (window_start TIMESTAMP(3), events BIGINT) "
    "WITH ('connector' = 'blackhole')",
    "INSERT INTO events_per_minute SELECT window_start, COUNT(*) "
    "FROM TABLE(TUMBLE(TABLE gold_inputs, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) "
    "GROUP BY window_start, window_end",
]


def operators(settings: Settings, *job_args: str) -> dict[str, str]:
    """uid -> name of every operator of the translated ingest job."""
    runtime = Runtime(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(JAVA_HOME=str(runtime.java17_home), FLOWLAKE_PII_HASH_KEY="probe-only-never-writes",
               FLOWLAKE_CATALOG_PASSWORD=settings.catalog_secret())
    result = subprocess.run([str(runtime.job_python), str(REPO_ROOT / "tests" / "flink" / "uid_probe.py"),
                             *job_arguments(settings), "--topic", "uid-probe", *job_args],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = [json.loads(line.removeprefix("TRANSFORMATION ")) for line in result.stdout.splitlines()
             if line.startswith("TRANSFORMATION ")]
    assert found
    missing = [t["name"] for t in found if t["class"] not in VIRTUAL and not t["uid"]]
    assert not missing, f"operators without a uid: {missing}"
    return {t["uid"]: t["name"] for t in found if t["class"] not in VIRTUAL}


def test_every_operator_has_a_uid_and_a_changed_expression_keeps_them_all(local_stack: Settings) -> None:
    before = operators(local_stack)
    assert {"bronze-events", "quarantine-events", "silver-orders", "gold-revenue-per-minute"} <= set(before)
    # One consent aggregation feeds both gold.consent and the consent topic (ingest.SHARED_VIEWS).
    assert sum(name.startswith("GroupAggregate") for name in before.values()) == 1, sorted(before.values())
    # Another lateness changes the watermark expression and the late/on-time filters, not the plan's shape.
    assert operators(local_stack, "--allowed-lateness-seconds", "90") == before


def test_appended_tables_keep_offsets_udf_dedup_and_sinks(local_stack: Settings) -> None:
    before = operators(local_stack)
    after = operators(local_stack, *(arg for sql in NEW_STATEMENT for arg in ("--extra-sql", sql)))
    kept = {uid for uid, name in before.items() if after.get(uid) == name}
    names = {before[uid].split("[")[0] for uid in kept}
    assert {"source_events", "PythonCalc", "Deduplicate"} <= names
    sinks = {uid for uid in before if not uid[0].isdigit()}
    iceberg_sinks = set(ingest.INSERTS) - {ingest.SILVER_TOPIC_INSERT, ingest.CONSENT_TOPIC_INSERT}
    assert len(sinks) == len(iceberg_sinks) and sinks <= kept  # every Iceberg sink (not the Kafka ones)


def test_savepoints_of_the_released_layout_restore(local_stack: Settings) -> None:
    """Every operator of the job as savepoints were taken before the columns came out of the check
    (tests/data/ingest_operator_uids.json, translated from commit 5a5eafd) is in today's job under the
    same uid and kind: such a savepoint restores without --allow-non-restored-state. A change that
    renumbers them must keep this file as it is and say in the README how a running job upgrades."""
    released = json.loads((REPO_ROOT / "tests" / "data" / "ingest_operator_uids.json").read_text())
    now = operators(local_stack)
    moved = {uid: (name, now.get(uid)) for uid, name in released.items() if now.get(uid) != name}
    assert not moved, f"operators whose state would not restore (uid: released, now): {moved}"

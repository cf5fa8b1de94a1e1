"""Runs flowlake's UDFs inside a real PyFlink job (local MiniCluster) and prints one JSON line per
row. Started by tests/integration/test_udfs_in_flink.py with the job environment's Python."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment

from udfs.flink_udfs import register


def main() -> None:
    payloads = json.loads(Path(sys.argv[1]).read_text())
    vectorised = sys.argv[2] == "vectorised"
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    t_env.get_config().set("python.executable", sys.executable)
    t_env.get_config().set("parallelism.default", "1")
    register(t_env, mask_policy="redact", vectorised=vectorised)
    table = t_env.from_elements(list(enumerate(payloads)), DataTypes.ROW([
        DataTypes.FIELD("id", DataTypes.INT()), DataTypes.FIELD("payload", DataTypes.STRING())]))
    t_env.create_temporary_view("input", table)
    result = t_env.execute_sql(
        "SELECT id, v.valid, v.event_type, v.failures, mask_pii(payload) AS masked "
        "FROM (SELECT id, payload, validate_event(payload) AS v FROM input)")
    with result.collect() as rows:
        for row in rows:
            print("ROW " + json.dumps({"id": row[0], "valid": row[1], "event_type": row[2],
                                       "failures": list(row[3] or []), "masked": row[4]}))


if __name__ == "__main__":
    main()

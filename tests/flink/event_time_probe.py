"""Reads the event time of each payload twice in a real Flink job (local MiniCluster): with flowlake's
function (sql/flink/function_event_time.sql) and with the Flink SQL expression it replaces. Prints one
JSON line per payload. Started by tests/integration/test_event_time_function.py with the job
environment's Python."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment

from flink_jobs.common import load_sql

FLINK_EXPRESSION = r"""TO_TIMESTAMP(REPLACE(REGEXP_EXTRACT(JSON_VALUE(CAST(payload AS STRING), '$.event_time'),
  '^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|\+00:00)$', 1), 'T', ' '))"""


def main() -> None:
    payloads = [bytearray(base64.b64decode(p)) for p in json.loads(Path(sys.argv[1]).read_text())]
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    t_env.get_config().set("parallelism.default", "1")
    t_env.execute_sql(load_sql("function_event_time"))
    table = t_env.from_elements(list(enumerate(payloads)), DataTypes.ROW([
        DataTypes.FIELD("id", DataTypes.INT()), DataTypes.FIELD("payload", DataTypes.BYTES())]))
    t_env.create_temporary_view("input", table)
    result = t_env.execute_sql(f"SELECT id, CAST(flowlake_event_time(payload) AS STRING), "
                               f"CAST({FLINK_EXPRESSION} AS STRING) FROM input")
    with result.collect() as rows:
        for row in rows:
            print("ROW " + json.dumps({"id": row[0], "function": row[1], "flink": row[2]}))


if __name__ == "__main__":
    main()

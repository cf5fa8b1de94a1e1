"""Rows/s of the validate + mask UDFs inside PyFlink, against the same job with no Python UDF.

Runs in the job environment (PyFlink), on a local MiniCluster, with Python workers as separate
processes (as on a real cluster):

    make bench-flink-udf            # or: <job python> bench/flink_udf_bench.py --rows 200000

Each variant reads the same generated payloads (datagen sequence -> JSON built in SQL, about a
third of them carrying PII in a free-text field) and writes to a blackhole sink. Each variant runs
twice, with N and 5N rows: rows/s is 4N over the difference of the two wall times, so the fixed
cost of starting a MiniCluster and its Python workers cancels out."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyflink.table import EnvironmentSettings, TableEnvironment

from udfs.flink_udfs import register

SOURCE = """
CREATE TEMPORARY TABLE seq (n BIGINT) WITH (
  'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '{rows}'
)"""
PAYLOADS = """
CREATE TEMPORARY VIEW payloads AS SELECT CONCAT(
  '{{"event_id": "550e8400-e29b-41d4-a716-', LPAD(CAST(n AS STRING), 12, '0'), '", ',
  '"event_type": "support_message", "event_time": "2026-11-22T10:00:00.000+00:00", ',
  '"user_id": "U', LPAD(CAST(MOD(n, 99999) AS STRING), 5, '0'), '", "country": "DE", "channel": "chat", ',
  '"message": "', CASE MOD(n, 3)
    WHEN 0 THEN CONCAT('Please call me back on +49 30 ', CAST(10000000 + MOD(n, 89999999) AS STRING))
    WHEN 1 THEN CONCAT('Where is my order ORD-', CAST(10000000 + MOD(n, 89999999) AS STRING), '?')
    ELSE 'Thanks, everything arrived in good condition!' END, '"}}') AS payload
FROM seq"""
SINK = "CREATE TEMPORARY TABLE sink (a STRING, b BOOLEAN) WITH ('connector' = 'blackhole')"
VARIANTS = {
    "no_udf": "INSERT INTO sink SELECT JSON_VALUE(payload, '$.message'), CHAR_LENGTH(payload) > 0 FROM payloads",
    # As the medallion job does: validate the whole payload, scan and mask the free-text field.
    "validate_and_mask": "INSERT INTO sink SELECT mask_pii(JSON_VALUE(payload, '$.message')), "
                         "validate_event(payload).valid FROM payloads",
}


def elapsed(variant: str, rows: int, parallelism: int, vectorised: bool) -> float:
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = t_env.get_config()
    config.set("python.executable", sys.executable)
    config.set("parallelism.default", str(parallelism))
    config.set("taskmanager.numberOfTaskSlots", str(parallelism))
    config.set("python.fn-execution.bundle.size", "10000")
    config.set("python.fn-execution.arrow.batch.size", "10000")
    config.set("_python_worker_execution_mode", "process")
    register(t_env, mask_policy="redact", vectorised=vectorised)
    for statement in (SOURCE.format(rows=rows), PAYLOADS, SINK):
        t_env.execute_sql(statement)
    started = time.perf_counter()
    t_env.execute_sql(VARIANTS[variant]).wait()
    return time.perf_counter() - started


def marginal_rows_per_s(variant: str, rows: int, parallelism: int, vectorised: bool) -> float:
    small = elapsed(variant, rows, parallelism, vectorised)
    large = elapsed(variant, 5 * rows, parallelism, vectorised)
    return 4 * rows / max(large - small, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="N: each variant runs with N and 5N rows")
    parser.add_argument("--parallelism", type=int, default=2)
    args = parser.parse_args()
    report: dict[str, float] = {}
    # Without Python the job is so much faster that it needs more rows for a measurable difference.
    report["no_udf_rows_per_s"] = marginal_rows_per_s("no_udf", 20 * args.rows, args.parallelism, True)
    report["vectorised_rows_per_s"] = marginal_rows_per_s("validate_and_mask", args.rows, args.parallelism, True)
    report["row_udf_rows_per_s"] = marginal_rows_per_s("validate_and_mask", args.rows, args.parallelism, False)
    report["vectorised_vs_no_udf"] = report["vectorised_rows_per_s"] / report["no_udf_rows_per_s"]
    report["row_vs_no_udf"] = report["row_udf_rows_per_s"] / report["no_udf_rows_per_s"]
    print(json.dumps({k: round(v, 3 if "vs" in k else 0) for k, v in report.items()}, indent=2))


if __name__ == "__main__":
    main()

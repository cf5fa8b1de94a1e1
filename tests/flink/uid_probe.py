"""Translates the ingest job, as a `flink run` client would, and prints one JSON line per
transformation: its class, name and uid. `--extra-sql` adds statements first run as DDL (CREATE
...) or added to the statement set (INSERT ...): a code change. Started by
tests/integration/test_savepoint_uids.py with the job environment's Python, one process per
translation (the planner numbers operators from a counter in the JVM)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyflink.java_gateway import get_gateway

from flink_jobs import ingest
from flink_jobs.common import parse


def main() -> None:
    parser = ingest.arguments()
    parser.add_argument("--extra-sql", action="append", default=[])
    args = parse(parser)
    t_env, _statements = ingest.build(args)
    inserts = ingest.insert_statements(args)
    for sql in args.extra_sql:
        if sql.lstrip().upper().startswith("CREATE"):
            t_env.execute_sql(sql)
        else:
            inserts.append(sql)
    j_tenv = t_env._j_tenv
    operations = get_gateway().jvm.java.util.ArrayList()
    for sql in inserts:
        operations.add(j_tenv.getParser().parse(sql).get(0))
    pending = list(j_tenv.getPlanner().translate(operations))
    seen: set[int] = set()
    while pending:
        transformation = pending.pop()
        if transformation.getId() in seen:
            continue
        seen.add(transformation.getId())
        pending.extend(transformation.getInputs())
        print("TRANSFORMATION " + json.dumps({"class": transformation.getClass().getSimpleName(),
                                              "name": transformation.getName(), "uid": transformation.getUid()}))


if __name__ == "__main__":
    main()

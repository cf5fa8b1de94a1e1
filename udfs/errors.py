"""The root of every error flowlake raises on purpose: a bad rules or policy file, a bad setting, a
missing or mismatched key, a service that is not there. The CLI prints these as one line that names
the fix, without a traceback; anything else is a bug and keeps its traceback.

It lives in the pure core, the one package both Python environments have (the job's workers and the
control side), so that udfs/, iceberg/, flink_jobs/ and flowlake/ all raise the same root without
importing upward. flowlake.errors holds the control side's kinds."""


class FlowlakeError(Exception):
    """Base of every error flowlake raises on purpose; its message names the fix."""

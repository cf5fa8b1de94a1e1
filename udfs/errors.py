"""The root of every error flowlake raises on purpose: a bad rules or policy file, a bad setting, a
missing or mismatched key, a service that is not there. The CLI prints these as one line that names
the fix, without a traceback; anything else is a bug and keeps its traceback.

It lives in the pure core, the one package both Python environments have (the job's workers and the
control side), so that udfs/, iceberg/, flink_jobs/ and flowlake/ all raise the same root without
importing upward. flowlake.errors holds the control side's kinds."""


from pathlib import Path
from typing import Any

import tomllib


class FlowlakeError(Exception):
    """Base of every error flowlake raises on purpose; its message names the fix."""


def read_toml(path: Path, error: type[FlowlakeError], what: str) -> dict[str, Any]:
    """A TOML file of flowlake's (rules, policies); a file that is missing or not TOML is `error`, naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path} is not valid TOML ({exc}): fix the file, or restore it with "
                    f"`git checkout {path.name}`") from None

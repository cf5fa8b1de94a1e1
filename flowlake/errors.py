"""flowlake's own exceptions. Each message names the fix."""


class FlowlakeError(Exception):
    """Base of every error flowlake raises on purpose; the CLI prints these without a traceback."""


class PrerequisiteMissing(FlowlakeError):
    """A tool or package the stack needs is not installed."""


class InstallFailed(FlowlakeError):
    """An install step failed."""


class ServiceUnavailable(FlowlakeError):
    """A service of the local stack is not reachable or did not become healthy."""


class JobFailed(FlowlakeError):
    """A Flink job could not be submitted, or failed."""

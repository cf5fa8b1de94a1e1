"""flowlake's own exceptions on the control side. Each message names the fix. Their root,
FlowlakeError, is in udfs.errors (shared with the job environment); the CLI catches it once."""

from udfs.errors import FlowlakeError

__all__ = ["ConfigError", "FlowlakeError", "InstallFailed", "JobFailed", "PrerequisiteMissing", "ServiceUnavailable"]


class ConfigError(FlowlakeError):
    """A setting (FLOWLAKE_<FIELD> in the environment) has a value flowlake cannot use."""


class PrerequisiteMissing(FlowlakeError):
    """A tool or package the stack needs is not installed."""


class InstallFailed(FlowlakeError):
    """An install step failed."""


class ServiceUnavailable(FlowlakeError):
    """A service of the local stack is not reachable or did not become healthy."""


class JobFailed(FlowlakeError):
    """A Flink job could not be submitted, or failed."""

"""The job registry (flink_jobs/registry.py) is the one description of each job: its entry point, its
Flink job name and consumer group, and the arguments `flowlake submit` fills from the settings."""

from __future__ import annotations

import ast
import importlib

import pytest

from flink_jobs.registry import JOBS
from flowlake.clients.flink import job_arguments, job_name, settings_arguments, submit
from flowlake.config import Settings
from flowlake.errors import JobFailed


@pytest.mark.parametrize("name", sorted(JOBS))
def test_each_job_has_its_entry_point(name: str) -> None:
    job = JOBS[name]
    assert job.path.is_file() and job.path.parent.name == "flink_jobs"
    # Read, not imported: some entry points import PyFlink at the top, which only the job environment has.
    functions = {node.name for node in ast.parse(job.path.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert "main" in functions and 'if __name__ == "__main__":' in job.path.read_text()
    assert job.streaming == bool(job.group_id)  # a streaming job reads with a consumer group, others don't


@pytest.mark.parametrize("name", [name for name, job in JOBS.items() if job.streaming])
def test_a_streaming_job_runs_under_its_registered_names(name: str) -> None:
    job = JOBS[name]
    parser = importlib.import_module(f"flink_jobs.{job.path.stem}").arguments()
    args = parser.parse_args(job_arguments(Settings()))  # the arguments every submission carries
    assert args.group_id == job.group_id  # the job's own default is the registry's
    assert job_name(name, []) == job.pipeline_name
    assert job_name(name, ["--job-name", "bench-1"]) == "bench-1"


@pytest.mark.parametrize("name", [name for name, job in JOBS.items() if job.settings_arguments])
def test_arguments_filled_from_the_settings_parse_and_carry_the_settings_values(name: str) -> None:
    job = JOBS[name]
    values = {field: f"topic-{field}" for _, field in job.settings_arguments}
    settings = Settings(**values)  # type: ignore[arg-type]
    filled = settings_arguments(settings, name, [])
    parser = importlib.import_module(f"flink_jobs.{job.path.stem}").arguments()
    args = vars(parser.parse_args(job_arguments(settings) + filled))
    for flag, field in job.settings_arguments:
        assert args[flag.removeprefix("--").replace("-", "_")] == values[field]
    given = [job.settings_arguments[0][0], "mine"]
    assert job.settings_arguments[0][0] not in settings_arguments(settings, name, given)  # given wins


def test_an_unknown_job_is_refused_with_the_choices_before_flink_is_asked() -> None:
    settings = Settings(flink_rest_port=1)  # nothing listens there: reaching Flink would fail otherwise
    with pytest.raises(JobFailed, match="choose one of cdc, ingest, maintain, replay, restate, sessions, sql"):
        submit(settings, "ingestion")

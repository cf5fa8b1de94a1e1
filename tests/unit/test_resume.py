"""`flowlake submit --resume`: which job a name stands for, and its newest complete checkpoint."""

from __future__ import annotations

from pathlib import Path

from flowlake.clients.flink import job_name, latest_checkpoint, record_submission
from flowlake.config import Settings


def test_the_newest_checkpoint_with_metadata_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    job_dir = tmp_path / "flink" / "checkpoints" / ("a" * 32)
    for number, complete in ((7, True), (12, True), (13, False), (9, True)):
        (job_dir / f"chk-{number}").mkdir(parents=True)
        if complete:
            (job_dir / f"chk-{number}" / "_metadata").write_bytes(b"x")
    (job_dir / "shared").mkdir()
    assert latest_checkpoint(settings, "a" * 32) == f"{settings.checkpoints_uri}/{'a' * 32}/chk-12"
    assert latest_checkpoint(settings, "b" * 32) is None


def test_a_job_is_known_by_its_name(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert job_name("ingest", []) == "flowlake-ingest"
    assert job_name("ingest", ["--topic", "t", "--job-name", "ingest-t"]) == "ingest-t"
    record_submission(settings, "ingest-t", "c" * 32, "ingest", ["--job-name", "ingest-t"])
    assert '"job_id": "' + "c" * 32 in (tmp_path / "jobs" / "ingest-t.json").read_text()

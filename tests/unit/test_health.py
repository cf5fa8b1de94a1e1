from __future__ import annotations

from flowlake.health import job_health

JOB = {"jid": "a1", "name": "flowlake-ingest", "state": "RUNNING", "duration": 125_000}


def test_job_health_from_flinks_rest_answers() -> None:
    checkpoints = {"counts": {"failed": 1, "restored": 2, "completed": 40},
                   "latest": {"completed": {"latest_ack_timestamp": 1_000_000, "end_to_end_duration": 812}}}
    health = job_health(JOB, checkpoints, now_ms=1_004_500)
    assert (health.name, health.state, health.uptime_seconds) == ("flowlake-ingest", "RUNNING", 125.0)
    assert (health.checkpoint_age_seconds, health.checkpoint_duration_ms) == (4.5, 812)
    assert (health.failed_checkpoints, health.restarts) == (1, 2)


def test_a_job_without_a_completed_checkpoint() -> None:
    health = job_health(JOB, {"counts": {"failed": 0}, "latest": {"completed": None}}, now_ms=0)
    assert health.checkpoint_age_seconds is None and health.checkpoint_duration_ms is None


def test_kafka_keeping_raw_events_longer_than_an_erasure_may_take_is_warned_about() -> None:
    from flowlake.health import retention_warning

    day = 86_400_000
    assert retention_warning("events", 7 * day, 30) is None
    assert retention_warning("events", 30 * day, 30) is None
    assert retention_warning("events", None, 30) is None  # no such topic
    warning = retention_warning("events", 31 * day, 30)
    assert warning and "31 days" in warning and "retention.ms=1296000000" in warning
    forever = retention_warning("events", -1, 30)
    assert forever and "for ever" in forever

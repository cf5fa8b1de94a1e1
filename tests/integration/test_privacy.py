"""Privacy requests end to end, on the session's medallion job: requests found in the stream, listed
with their due dates, and a person erased from every layer while the job keeps writing - physically:
no row in any table, none through time travel, the data files that held them deleted, everyone else's
rows untouched, an audit row written."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from confluent_kafka import Producer

from flowlake.clients.flink import FlinkRest
from flowlake.config import REPO_ROOT, Settings
from flowlake.generate import Mix, generate
from flowlake.kafka_security import client_config
from flowlake.privacy import requests, user_token
from iceberg.registry import SILVER_TABLE_OF

from .conftest import IngestJob, wait_until
from .lakehouse import background_page_views, bronze_count, page_view, q, read_committed

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

VICTIM = "U04999"
# How each table finds the victim's rows, written independently of the erasure templates (sql/trino/erase/).
RAW = f"(from_utf8(event_key) = '{VICTIM}' OR strpos(from_utf8(payload), '{VICTIM}') > 0)"
FINDERS = {"bronze.events": RAW, "quarantine.events": RAW,
           **{f"silver.{t}": f"user_id = '{VICTIM}'" for t in SILVER_TABLE_OF.values()}}
# Columns whose checksums stand for everyone else's rows, and the column that says when a row was written.
CHECKED = {"bronze.events": ("payload, source_topic, source_partition, source_offset", "ingested_at"),
           "quarantine.events": ("payload, failures, source_offset", "quarantined_at"),
           **{f"silver.{t}": ("event_id, user_id, event_time, source_offset", "processed_at")
              for t in SILVER_TABLE_OF.values()},
           "gold.late_events": ("event_id, event_time, source_offset", "detected_at")}


def _send(settings: Settings, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = Producer({**client_config(settings, "admin"), "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def _event(at: datetime, event_type: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_type": event_type,
            "event_time": at.isoformat(timespec="milliseconds"), "user_id": VICTIM, "country": "FR", **fields}


def victim_records(at: datetime) -> tuple[list[tuple[bytes | None, bytes]], dict[str, Any]]:
    """The victim's events: valid ones of three types (one late, so it is listed in gold.late_events), a
    duplicate, and two that fail validation, one of them truncated JSON without a record key: bronze and
    quarantine must find that one by what is inside the raw payload."""
    erasure = _event(at, "support_message", channel="email",
                     message="Please delete my account and all my personal data. victim@example.com")
    order = _event(at, "order", order_id="ORD-49994999", currency="EUR", total=20.0, email="victim@example.com",
                   items=[{"sku": "SKU-1001", "name": "Mug", "category": "kitchen", "quantity": 1, "unit_price": 20.0}])
    late = {**page_view(at - timedelta(hours=2), VICTIM, "/account"), "country": "FR"}
    truncated = json.dumps({"user_id": VICTIM, "event_type": "order", "email": "victim@example.com"})[:60].encode()
    no_id = json.dumps({k: v for k, v in _event(at, "page_view", page="/").items() if k != "event_id"}).encode()
    key = VICTIM.encode()
    records: list[tuple[bytes | None, bytes]] = [(key, json.dumps(e).encode()) for e in (erasure, order, late, erasure)]
    records += [(None, truncated), (key, no_id)]
    return records, {"erasure": erasure, "order": order, "late": late}


def others_fingerprint(settings: Settings, before: datetime) -> dict[str, list[Any]]:
    """count and checksums of everyone else's rows written before `before`, per table."""
    stamp = f"TIMESTAMP '{before:%Y-%m-%d %H:%M:%S.%f} UTC'"
    prints = {}
    for table, (columns, written) in CHECKED.items():
        finder = FINDERS.get(table, f"event_id IN (SELECT event_id FROM lakehouse.silver.page_views "
                                    f"WHERE user_id = '{VICTIM}')")
        sums = ", ".join(f"checksum({c.strip()})" for c in columns.split(","))
        prints[table] = q(settings, f"SELECT count(*), {sums} FROM lakehouse.{table} "
                                    f"WHERE {written} < {stamp} AND NOT ({finder})")[0]
    return prints


def flowlake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "flowlake"), *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=900, check=False)


def prometheus(settings: Settings, expr: str) -> list[Any]:
    import requests as http

    response = http.get(f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def local_path(uri: str) -> Path:
    return Path(urlparse(uri).path)


def test_requests_are_found_and_a_person_is_erased_from_every_layer(local_stack: Settings,
                                                                     ingest_job: IngestJob) -> None:
    settings, job = local_stack, ingest_job
    rest = FlinkRest(settings)
    # Others' events (the generator's support messages make requests of every kind), the victim's, and an
    # access request of someone else written 40 days ago: overdue.
    before = bronze_count(settings, job.topic)
    generate(settings, 1_500, None, None, topic=job.topic, seed=77, mix=Mix(bad=0.05, duplicates=0.05),
             clock=job.clock)
    # Read and past the UDF first: the job's watermark then stands ahead of the victim's late event (run
    # alone, the session's job is new and has no watermark until records have flowed through it).
    wait_until(lambda: bronze_count(settings, job.topic) >= before + 1_500, timeout=300, interval=3,
               what="the generated events in bronze")
    time.sleep(3)
    victims, events = victim_records(job.clock())
    old_access = {**_event(datetime.now(UTC) - timedelta(days=40), "support_message", channel="chat",
                           message="What personal data do you have about me?"), "user_id": "U00003"}
    _send(settings, job.topic, [*victims, (b"U00003", json.dumps(old_access).encode())])
    request_id = f"{events['erasure']['event_id']}/ERASURE"
    both = f"'{request_id}', '{old_access['event_id']}/ACCESS'"
    wait_until(lambda: q(settings, "SELECT count(*) FROM lakehouse.gold.privacy_requests "
                                   f"WHERE request_id IN ({both})")[0][0] == 2,
               timeout=180, interval=5, what="the victim's and the old request in gold")
    wait_until(lambda: q(settings, f"SELECT count(*) FROM lakehouse.quarantine.events WHERE {RAW}")[0][0] >= 2,
               timeout=120, interval=5, what="the victim's bad records in quarantine")

    # The requests as `flowlake privacy requests` shows them: open, due 30 days after the message.
    listed = {r[0]: r for r in requests(settings)}
    assert listed[request_id][1] == "ERASURE" and listed[request_id][5] == "OPEN"
    assert listed[request_id][4] - listed[request_id][3] == timedelta(days=30)
    assert listed[request_id][6] == user_token(settings, VICTIM)
    assert listed[request_id][7].startswith("rule:ERASURE.")  # what found it
    overdue = [r[0] for r in requests(settings, overdue=True)]
    assert f"{old_access['event_id']}/ACCESS" in overdue and request_id not in overdue
    shown = flowlake("privacy", "requests", "--overdue")
    assert shown.returncode == 0 and old_access["event_id"][:8] in shown.stdout, shown.stderr

    # Before: where the victim's rows are (tables, data files), and everyone else's rows.
    rows_before = {t: q(settings, f"SELECT count(*) FROM lakehouse.{t} WHERE {f}")[0][0] for t, f in FINDERS.items()}
    assert all(rows_before[t] >= 1 for t in ("bronze.events", "quarantine.events", "silver.orders",
                                             "silver.page_views", "silver.support_messages")), rows_before
    assert rows_before["bronze.events"] >= 6  # every record sent, the duplicate and the broken ones too
    late_listed = q(settings, "SELECT count(*) FROM lakehouse.gold.late_events "
                              f"WHERE event_id = '{events['late']['event_id']}'")[0][0]
    assert late_listed == 1
    files = {path for table, finder in FINDERS.items()
             for (path,) in q(settings, f'SELECT DISTINCT "$path" FROM lakehouse.{table} WHERE {finder}')}
    assert files and all(local_path(p).exists() for p in files)
    time.sleep(2 * settings.checkpoint_interval_seconds)
    fence = datetime.now(UTC)
    time.sleep(2 * settings.checkpoint_interval_seconds)  # rows written before the fence are committed
    others = others_fingerprint(settings, fence)
    restored = rest.checkpoints(job.job_id)["counts"]["restored"]

    # Erase, by the request, while other users' events keep flowing.
    stop, busy = threading.Event(), []
    producer = background_page_views(settings, job, stop, busy)
    try:
        started = time.monotonic()
        result = flowlake("privacy", "erase", "--request", request_id, "--yes")
        took = time.monotonic() - started
    finally:
        stop.set()
        producer.join()
    assert result.returncode == 0, result.stderr
    print(f"erasure took {took:.1f} s: {result.stdout.strip()}")

    # The job was neither broken nor restarted, and wrote every event sent while the erasure ran.
    assert rest.job(job.job_id)["state"] == "RUNNING"
    assert rest.checkpoints(job.job_id)["counts"]["restored"] == restored
    assert len(busy) > 100
    ids = ", ".join(f"'{i}'" for i in busy)
    wait_until(lambda: q(settings, f"SELECT count(*) FROM lakehouse.silver.page_views WHERE event_id IN ({ids})")[0][0]
               == len(busy), timeout=120, interval=5, what="every page view sent during the erasure in silver")

    # No row of the victim anywhere, now or through time travel to any snapshot that is left.
    for table, finder in {**FINDERS, "gold.late_events": f"event_id = '{events['late']['event_id']}'"}.items():
        assert q(settings, f"SELECT count(*) FROM lakehouse.{table} WHERE {finder}")[0][0] == 0, table
        snapshots = [r[0] for r in q(settings, f'SELECT snapshot_id FROM lakehouse.{table.split(".")[0]}."'
                                               f'{table.split(".")[1]}$snapshots"')]
        for snapshot in snapshots:
            assert q(settings, f"SELECT count(*) FROM lakehouse.{table} FOR VERSION AS OF {snapshot} "
                               f"WHERE {finder}")[0][0] == 0, (table, snapshot)
    # The data files that held the rows are gone from disk.
    assert not [p for p in files if local_path(p).exists()]
    # Everyone else's rows are as they were.
    assert others_fingerprint(settings, fence) == others

    # The request is done, and the audit says who erased what, when.
    token = user_token(settings, VICTIM)
    status = q(settings, f"SELECT status FROM lakehouse.gold.privacy_requests WHERE request_id = '{request_id}'")
    assert status == [["DONE"]]
    audit = q(settings, "SELECT request_ids, requested_by, tables, rows_removed, files_rewritten, snapshots_expired, "
                        f"started_at, finished_at FROM lakehouse.audit.erasures WHERE user_token = '{token}'")
    assert len(audit) == 1
    request_ids, who, tables, removed, rewritten, expired, started_at, finished_at = audit[0]
    assert request_ids == [request_id] and who
    wanted = {t: n for t, n in rows_before.items() if n} | {"gold.late_events": 1}
    assert dict(removed) == wanted and sorted(tables) == sorted(wanted)
    assert rewritten >= len(wanted) and expired >= len(wanted) and started_at < finished_at

    # Erasing again finds nothing more and changes nothing for the others.
    again = flowlake("privacy", "erase", "--user", VICTIM, "--yes")
    assert again.returncode == 0 and " 0 rows" in again.stdout, (again.stdout, again.stderr)
    assert others_fingerprint(settings, fence) == others


REQUESTER = "U07998"  # outside the generator's U00001-U04999: every row of theirs is this test's


def test_an_access_request_is_exported_from_every_layer_at_one_snapshot_per_table(
        local_stack: Settings, ingest_job: IngestJob, tmp_path: Path) -> None:
    """A person's access request, exported while the job keeps writing: every record they sent (bronze,
    the refused one in quarantine), their silver and gold rows, their requests; nothing of anyone else; the
    values they gave only where they gave them (raw), masked elsewhere; checksums, snapshots and the audit."""
    import hashlib

    import pyarrow.parquet as pq

    from flowlake.privacy_export import exported_tables

    settings, job = local_stack, ingest_job
    at = job.clock()
    email = "requester.7998@example.com"
    ask = {**_event(at, "support_message", channel="email",
                    message="Please send me a copy of all the personal data you hold about me."), "user_id": REQUESTER}
    bought = {**_event(at, "order", order_id="ORD-49984998", currency="EUR", total=12.5, email=email,
                       shipping_name="Ada Requester",
                       items=[{"sku": "SKU-1002", "name": "Pen", "category": "office", "quantity": 1,
                               "unit_price": 12.5}]), "user_id": REQUESTER}
    viewed = page_view(at, REQUESTER, "/privacy")
    # Truncated JSON, the email whole (test_trino_access finds PII in every raw order payload).
    broken = json.dumps({"user_id": REQUESTER, "email": email, "event_type": "order", "total": 12.5})[:-10].encode()
    # A rectification asked 40 days ago: overdue (the due date is the message's event time + 30 days).
    fix = {**_event(datetime.now(UTC) - timedelta(days=40), "support_message", channel="chat",
                    message="Please correct my date of birth in your records, it is wrong."), "user_id": REQUESTER}
    sent = [(REQUESTER.encode(), json.dumps(e).encode()) for e in (ask, bought, viewed, bought, fix)]
    sent.append((None, broken))
    _send(settings, job.topic, [*sent, (b"U00002", json.dumps(page_view(at, "U00002", "/other")).encode())])
    request_id = f"{ask['event_id']}/ACCESS"
    wait_until(lambda: q(settings, "SELECT count(*) FROM lakehouse.gold.privacy_requests "
                                   f"WHERE request_id = '{request_id}'")[0][0] == 1,
               timeout=180, interval=5, what="the access request in gold")
    raw = (f"(from_utf8(event_key) = '{REQUESTER}' OR strpos(from_utf8(payload), '{REQUESTER}') > 0)")
    wait_until(lambda: q(settings, f"SELECT count(*) FROM lakehouse.quarantine.events WHERE {raw}")[0][0] >= 1,
               timeout=120, interval=5, what="the requester's broken record in quarantine")

    # The overdue rectification pages (the exporter reads the deadlines through Trino, Prometheus alerts).
    fix_id = f"{fix['event_id']}/RECTIFICATION"
    overdue = 'ALERTS{alertname="PrivacyRequestOverdue", intent="RECTIFICATION", alertstate="firing"}'
    wait_until(lambda: prometheus(settings, overdue), timeout=120, interval=5, what="PrivacyRequestOverdue firing")

    bundle = tmp_path / "bundle"
    started = time.monotonic()
    result = flowlake("privacy", "export", "--request", request_id, "--out", str(bundle))
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    print(f"export took {took:.1f} s: {result.stdout.strip()}")

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    tables = {t["table"]: t for t in manifest["tables"]}
    assert set(tables) == {t.identifier for t in exported_tables()}
    assert manifest["user_id"] == REQUESTER and manifest["user_token"] == user_token(settings, REQUESTER)
    assert manifest["request_ids"] == [request_id]
    rows = {}
    for name, table in tables.items():
        for kind, file in table["files"].items():
            data = (bundle / file["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == file["sha256"] and len(data) == file["bytes"], (name, kind)
        lines = [json.loads(line) for line in (bundle / table["files"]["jsonl"]["path"]).read_text().splitlines()]
        assert pq.read_table(bundle / table["files"]["parquet"]["path"]).num_rows == len(lines) == table["rows"]
        rows[name] = lines
        if table["snapshot_id"] is not None:  # read at a snapshot the table really has
            namespace, short = name.split(".")
            history = f'SELECT snapshot_id FROM lakehouse.{namespace}."{short}$snapshots"'
            snapshots = {r[0] for r in q(settings, history)}
            assert table["snapshot_id"] in snapshots, name
    assert {t for t, r in rows.items() if r} >= {"bronze.events", "quarantine.events", "silver.orders",
                                                 "silver.page_views", "silver.support_messages",
                                                 "gold.privacy_requests"}, {t: len(r) for t, r in rows.items()}

    # Bronze holds every record they sent, as text, the duplicate too; and nothing of anyone else.
    payloads = sorted(r["payload"] for r in rows["bronze.events"] if r["source_topic"] == job.topic)
    assert payloads == sorted(value.decode() for _, value in sent)
    assert all(REQUESTER in r["payload"] for r in rows["bronze.events"] + rows["quarantine.events"])
    assert broken.decode() in [r["payload"] for r in rows["quarantine.events"]]
    for name in (t for t in rows if t.startswith("silver.")):
        assert all(r["user_id"] == REQUESTER for r in rows[name]), name
    assert [r["event_id"] for r in rows["silver.orders"]] == [bought["event_id"]]  # deduplicated
    # What they gave appears raw only where it was received; silver holds its keyed hash.
    for name, lines in rows.items():
        text = json.dumps(lines)
        if name == "bronze.events":
            assert "Ada Requester" in text and email in text
        elif name != "quarantine.events":
            assert "Ada Requester" not in text and email not in text, name
    assert rows["silver.orders"][0]["email"] != email and len(rows["silver.orders"][0]["email"]) >= 16
    assert "U00002" not in "".join((bundle / t["files"]["jsonl"]["path"]).read_text() for t in tables.values())
    assert "keyed code" in (bundle / "README.md").read_text()

    # The request is done, and the audit records who exported what, at which snapshots.
    status = q(settings, f"SELECT status FROM lakehouse.gold.privacy_requests WHERE request_id = '{request_id}'")
    assert status == [["DONE"]]
    audit = q(settings, "SELECT export_id, request_ids, requested_by, rows_exported, snapshot_ids, manifest_sha256, "
                        "bytes FROM lakehouse.audit.access_exports "
                        f"WHERE user_token = '{user_token(settings, REQUESTER)}'")
    assert len(audit) == 1
    export_id, request_ids, who, exported, snapshot_ids, manifest_sha256, size = audit[0]
    assert export_id == manifest["export_id"] and request_ids == [request_id] and who
    assert dict(exported) == {name: table["rows"] for name, table in tables.items()}
    assert dict(snapshot_ids) == {name: table["snapshot_id"] for name, table in tables.items()}
    assert manifest_sha256 == hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    assert size == sum(p.stat().st_size for p in bundle.iterdir())

    # The rectification, carried out by hand, is resolved with a note and an audit row; the alert resolves.
    refused = flowlake("privacy", "resolve", "--request", request_id, "--note", "sent")
    assert refused.returncode == 1 and "already DONE" in refused.stderr, refused.stderr
    overdue_count = 'sum(flowlake_privacy_requests_overdue{intent="RECTIFICATION"})'
    overdue_before = int(float(prometheus(settings, overdue_count)[0]["value"][1]))
    assert overdue_before >= 1
    resolved = flowlake("privacy", "resolve", "--request", fix_id, "--note", "date of birth corrected in the shop")
    assert resolved.returncode == 0, resolved.stderr
    fixed = q(settings, f"SELECT status FROM lakehouse.gold.privacy_requests WHERE request_id = '{fix_id}'")
    assert fixed == [["DONE"]]
    resolution = q(settings, "SELECT intent, outcome, note, user_token FROM lakehouse.audit.request_resolutions "
                             f"WHERE request_id = '{fix_id}'")
    assert resolution == [["RECTIFICATION", "RESOLVED", "date of birth corrected in the shop",
                           user_token(settings, REQUESTER)]]
    # One overdue rectification fewer; the alert resolves unless another test left one overdue too.
    wait_until(lambda: int(float(prometheus(settings, overdue_count)[0]["value"][1])) == overdue_before - 1,
               timeout=120, interval=5, what="one overdue rectification fewer")
    if overdue_before == 1:
        wait_until(lambda: not prometheus(settings, overdue), timeout=120, interval=5,
                   what="PrivacyRequestOverdue resolved")

    # A second export into the same directory is refused, not mixed in.
    again = flowlake("privacy", "export", "--user", REQUESTER, "--out", str(bundle))
    assert again.returncode == 1 and "not empty" in again.stderr


OPTED_OUT = "U07997"  # outside the generator's user ids: every row of theirs is this test's


def test_an_opt_out_leaves_the_marketing_audience_within_a_checkpoint_interval_and_is_published_once(
        local_stack: Settings, ingest_job: IngestJob) -> None:
    """An unsubscribe withdraws marketing email in gold.consent with the first checkpoint after the job read
    it, so the person leaves analytics.marketing_audience; later events do not bring them back, asking
    again changes nothing, an opt-out withdraws the other purposes; the consent topic carries one record
    per change, exactly once; the requests are DONE as written."""
    from flowlake.views import create_views
    from udfs.privacy import PURPOSES

    settings, job = local_stack, ingest_job
    rest = FlinkRest(settings)
    create_views(settings)  # as test_medallion did; this test may run alone
    token = user_token(settings, OPTED_OUT)
    consent_topic = f"{job.topic}.consent"

    def person(event_type: str, **fields: Any) -> dict[str, Any]:
        return {**_event(job.clock(), event_type, **fields), "user_id": OPTED_OUT}

    def send(*events: dict[str, Any]) -> None:
        _send(settings, job.topic, [(OPTED_OUT.encode(), json.dumps(e).encode()) for e in events])

    def in_audience() -> int:
        return int(q(settings, "SELECT count(*) FROM lakehouse.analytics.marketing_audience "
                               f"WHERE user_id = '{OPTED_OUT}'")[0][0])

    send(page_view(job.clock(), OPTED_OUT, "/shoes"), page_view(job.clock(), OPTED_OUT, "/shoes/42"))
    wait_until(lambda: in_audience() == 1, timeout=180, interval=2, what="the customer in the marketing audience")

    unsubscribe = person("support_message", channel="email",
                         message="Please unsubscribe me from your marketing emails.")
    sent = time.monotonic()
    send(unsubscribe)
    wait_until(lambda: in_audience() == 0, timeout=120, interval=0.5, what="the customer out of the audience")
    took = time.monotonic() - sent
    print(f"unsubscribe -> out of the marketing audience in {took:.1f} s "
          f"(checkpoint interval {settings.checkpoint_interval_seconds} s)")
    # Committed by the first checkpoint triggered after the job read the request (recorded_at): not later.
    recorded = q(settings, "SELECT to_unixtime(recorded_at) * 1000 FROM lakehouse.gold.consent "
                           f"WHERE user_token = '{token}' AND purpose = 'marketing_email'")[0][0]
    snapshots = q(settings, "SELECT snapshot_id, CAST(summary['flink.max-committed-checkpoint-id'] AS bigint) "
                            'FROM lakehouse.gold."consent$snapshots" ORDER BY committed_at')
    checkpoint = next(c for s, c in snapshots if q(settings, "SELECT count(*) FROM lakehouse.gold.consent "
                                                             f"FOR VERSION AS OF {s} "
                                                             f"WHERE user_token = '{token}'")[0][0])
    history = rest.checkpoints(job.job_id)["history"]
    first_after = min(c["id"] for c in history if c["trigger_timestamp"] > recorded)
    assert checkpoint <= first_after, (checkpoint, first_after, recorded)
    assert took <= 2 * settings.checkpoint_interval_seconds + 5

    # Later events, the same request again and an opt-out: never back in the audience.
    again = person("support_message", channel="chat", message="Unsubscribe me from the newsletter, I get far too "
                                                               "many emails.")
    opt_out = person("support_message", channel="email", message="Do not sell or share my personal information.")
    later = [page_view(job.clock(), OPTED_OUT, "/sale"),
             person("add_to_cart", sku="SKU-1001", quantity=1, unit_price=20.0, session_id="s"), again, opt_out]
    send(*later)
    ids = ", ".join(f"'{e['event_id']}'" for e in later)
    union = " UNION ALL ".join(f"SELECT event_id FROM lakehouse.silver.{t}" for t in SILVER_TABLE_OF.values())
    wait_until(lambda: q(settings, f"SELECT count(*) FROM ({union}) WHERE event_id IN ({ids})")[0][0] == len(later),
               timeout=180, interval=3, what="the later events in silver")
    wait_until(lambda: q(settings, f"SELECT count(*) FROM lakehouse.gold.consent WHERE user_token = '{token}'")[0][0]
               == len(PURPOSES), timeout=60, interval=2, what="every purpose withdrawn")
    time.sleep(2 * settings.checkpoint_interval_seconds)  # anything more would be committed by now
    assert in_audience() == 0
    rows = q(settings, "SELECT purpose, status, user_id, request_id FROM lakehouse.gold.consent "
                       f"WHERE user_token = '{token}' ORDER BY purpose")
    assert rows == sorted([["marketing_email", "WITHDRAWN", OPTED_OUT, f"{unsubscribe['event_id']}/UNSUBSCRIBE"],
                           ["profiling", "WITHDRAWN", OPTED_OUT, f"{opt_out['event_id']}/OPT_OUT"],
                           ["sale_sharing", "WITHDRAWN", OPTED_OUT, f"{opt_out['event_id']}/OPT_OUT"]])
    statuses = q(settings, "SELECT intent, status FROM lakehouse.gold.privacy_requests "
                           f"WHERE user_token = '{token}' ORDER BY received_at")
    assert statuses == [["UNSUBSCRIBE", "DONE"], ["UNSUBSCRIBE", "DONE"], ["OPT_OUT", "DONE"]]

    # The consent topic: one record per change (three, not four: asking again changed nothing), committed.
    published = [(json.loads(key), json.loads(value)) for key, value, _ in read_committed(settings, consent_topic, 3)]
    mine = [(key, value) for key, value in published if key["user_token"] == token]
    assert sorted(key["purpose"] for key, _ in mine) == sorted(PURPOSES)
    for key, value in mine:
        assert value["purpose"] == key["purpose"] and value["status"] == "WITHDRAWN"
        assert value["user_id"] == OPTED_OUT and value["since"].endswith("Z")

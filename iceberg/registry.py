"""Every table of the lakehouse, described once: columns, partitioning, sort order, comment, which job
writes it and with which insert, which event type feeds it, and how a person's rows are found in it.
iceberg/tables.py makes the Iceberg specs from it; the ingest job's statement list, erasure,
maintenance and the Kubernetes maintenance job read it. Standard library only: the jobs import it
in the job environment, where PyIceberg is not installed.

A new event type is its rules entry (udfs/rules/events.toml), a `_silver(...)` entry appended to
TABLES and its insert (sql/flink/insert_silver_<table>.sql). **Append**: the order of the ingest
job's tables is the order of its statements, which numbers its operators, and a savepoint maps state
back to operators by those numbers (tests/integration/test_savepoint_uids.py)."""

from __future__ import annotations

from dataclasses import dataclass

# Column: (name, type, required, doc). Types are Iceberg's: string, int, long, double, binary,
# timestamptz, decimal(P, S), list<required|optional T>, map<K, required|optional V>.
Column = tuple[str, str, bool, str]

# How erasure (`flowlake privacy erase`) finds a person's rows in a table.
BY_USER_ID = "user_id"  # the user_id column
BY_RAW_PAYLOAD = "raw payload"  # the record key, or the user_id field inside the payload as received
BY_EVENT_ID = "event_id"  # event ids of the person's silver rows
KEPT = "kept"  # keyed tokens only, kept as the record of the person's requests and erasures
NO_PERSON = ""  # aggregates: no row belongs to one person

# Who writes a table: a job of flink_jobs/registry.py, or a CLI operation.
INGEST = "ingest"
SESSIONS = "sessions"
CDC = "cdc"
ERASURE = "flowlake privacy erase"
EXPORT = "flowlake privacy export"
RESOLVE = "flowlake privacy resolve"
CHECK = "flowlake check"
REPLAY = "flowlake quarantine replay"
CLI_WRITERS = (ERASURE, EXPORT, RESOLVE, CHECK, REPLAY)


@dataclass(frozen=True)
class Table:
    namespace: str
    name: str
    comment: str  # what SQL users see (Trino: SHOW CREATE TABLE, information_schema)
    columns: tuple[Column, ...]
    partition: tuple[str, str] | None  # (timestamp column, partition name): by day of it
    sort: tuple[str, ...]
    writer: str
    person: str
    insert: str = ""  # its INSERT in sql/flink/, for a table a streaming job writes
    event_type: str = ""  # silver: the event type its rows are
    # Every record reaches it (bronze, quarantine, silver): each writer writes its own files, without a
    # shuffle by partition first, and the free-text and binary columns named here get no statistics.
    streamed: bool = False
    no_metrics: tuple[str, ...] = ()
    # Identifier fields: a row per value of these (the Flink sink's primary key; a changed row is an
    # equality delete and a new row).
    key: tuple[str, ...] = ()
    # A table of the operational database captured by the cdc job (its name there is this table's name):
    # the columns that hold personal data, each with its entity type and masking policy (udfs.masking).
    captured: bool = False
    masked: tuple[tuple[str, str, str], ...] = ()

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    def column_names(self) -> list[str]:
        return [column[0] for column in self.columns]


# Where a record came from, the same columns for a Kafka and a Pulsar source: a Kafka record is
# (topic, partition, offset), a Pulsar message (partition topic, message id).
_SOURCE: tuple[Column, ...] = (
    ("source_topic", "string", True, "Kafka topic, or Pulsar partition topic (persistent://...-partition-N)"),
    ("source_partition", "int", True, "Kafka partition, or the Pulsar topic's partition index"),
    ("source_offset", "long", False, "Kafka offset (null for Pulsar)"),
    ("source_message_id", "binary", False, "Pulsar message id, serialized (null for Kafka)"),
    ("source_timestamp", "timestamptz", True, "Kafka record timestamp, or Pulsar publish time"),
)

# Bronze: every record as received, bytes untouched, with where it came from. (topic, partition,
# offset) or (topic, message id) is unique. Nothing is ever filtered here.
BRONZE_EVENTS = Table(
    "bronze", "events",
    "Every event as received from Kafka or Pulsar, raw bytes with source coordinates; nothing filtered. Holds "
    "raw PII: engineers only.",
    (("event_key", "binary", False, "record key, as received"),
     ("payload", "binary", False, "record value, as received (from_utf8(payload) in Trino)"),
     *_SOURCE,
     ("ingested_at", "timestamptz", True, "when Flink read the record"),
     ("headers", "map<string, optional binary>", False, "Kafka headers, or Pulsar message properties (UTF-8)")),
    ("source_timestamp", "source_day"), ("source_partition", "source_offset"), INGEST, BY_RAW_PAYLOAD,
    insert="insert_bronze_events", streamed=True, no_metrics=("payload", "event_key", "source_message_id"))

# Quarantine: every record that failed validation, raw, with the rules it failed.
QUARANTINE_EVENTS = Table(
    "quarantine", "events",
    "Every event that failed validation, raw, with the rules it failed. Holds raw PII: engineers only.",
    (("event_key", "binary", False, "record key, as received"),
     ("payload", "binary", False, "record value, as received"),
     *_SOURCE,
     ("event_type", "string", False, "when the payload parsed far enough to name one"),
     ("failures", "list<required string>", True, "'<rule id>: <reason>' per failed rule"),
     ("quarantined_at", "timestamptz", True, "when Flink wrote the row")),
    ("source_timestamp", "source_day"), ("source_partition", "source_offset"), INGEST, BY_RAW_PAYLOAD,
    insert="insert_quarantine_events", streamed=True, no_metrics=("payload", "source_message_id"))

# Silver: one table per event type; parsed, typed, validated, PII masked, first occurrence of each
# event_id only. The source coordinates lead back to the bronze record.
_SILVER_HEAD: tuple[Column, ...] = (
    ("event_id", "string", True, "the event's own id; silver keeps its first occurrence only"),
    ("event_time", "timestamptz", True, "when the event happened (UTC), from the payload"),
    ("user_id", "string", True, "the customer's account id (an internal id, not masked)"),
    ("country", "string", False, "ISO 3166-1 alpha-2 country code"),
)
_SILVER_TAIL: tuple[Column, ...] = (
    ("source_partition", "int", True, "Kafka partition or Pulsar partition index of the source record"),
    ("source_offset", "long", False, "Kafka offset (null for Pulsar)"),
    ("source_message_id", "binary", False, "Pulsar message id (null for Kafka)"),
    ("processed_at", "timestamptz", True, "when Flink wrote the row"),
)


def _silver(event_type: str, name: str, comment: str, *columns: Column) -> Table:
    """The silver table of an event type: the common columns, the type's own, where it came from."""
    return Table("silver", name, comment, (*_SILVER_HEAD, *columns, *_SILVER_TAIL), ("event_time", "event_day"),
                 ("event_time",), INGEST, BY_USER_ID, insert=f"insert_silver_{name}", event_type=event_type,
                 streamed=True, no_metrics=("message", "items", "user_agent", "source_message_id"))


SILVER_PAGE_VIEWS = _silver(
    "page_view", "page_views", "Valid page views, deduplicated by event_id, PII masked (IP hashed).",
    ("page", "string", True, "path of the page viewed"),
    ("session_id", "string", True, "the visitor's browsing session"),
    ("ip_address", "string", False, "hashed"),
    ("user_agent", "string", False, "browser user agent as sent"))
SILVER_ADD_TO_CARTS = _silver(
    "add_to_cart", "add_to_carts", "Valid add-to-cart events, deduplicated by event_id.",
    ("sku", "string", True, "product SKU"),
    ("quantity", "int", True, "units added"),
    ("unit_price", "decimal(12, 2)", True, "price of one unit"),
    ("session_id", "string", False, "the visitor's browsing session"))
SILVER_ORDERS = _silver(
    "order", "orders", "Valid orders, deduplicated by event_id, PII masked (email and name hashed).",
    ("order_id", "string", True, "order id (ORD-...)"),
    ("items", "string", True, "JSON array of order lines (sku, name, category, quantity, unit_price); "
     "names scanned for PII"),
    ("item_count", "int", True, "number of order lines"),
    ("total", "decimal(12, 2)", True, "order total as sent, in currency"),
    ("currency", "string", True, "ISO 4217 currency code"),
    ("email", "string", True, "hashed"),
    ("shipping_name", "string", False, "hashed"))
SILVER_PAYMENTS = _silver(
    "payment", "payments", "Valid payments, deduplicated by event_id; card numbers masked to the last 4 digits, "
    "card_token a keyed hash.",
    ("order_id", "string", True, "the order paid"),
    ("amount", "decimal(12, 2)", True, "amount paid, in currency"),
    ("currency", "string", True, "ISO 4217 currency code"),
    ("method", "string", True, "payment method (card, paypal, ...)"),
    ("card_number", "string", False, "masked, last 4 digits kept"),
    ("card_token", "string", False, "keyed hash of the whole card number: the same card, the same token"))
SILVER_SUPPORT_MESSAGES = _silver(
    "support_message", "support_messages", "Valid support messages, deduplicated by event_id, PII in the text "
    "redacted.",
    ("channel", "string", True, "where the message came in (email, chat, ...)"),
    ("message", "string", True, "PII found in the text is redacted"))

# Gold of the ingest job: event-time windows over on-time silver events, each written once when the
# watermark passes its end; late events are listed in gold.late_events.
GOLD_LATE_EVENTS = Table(
    "gold", "late_events", "Valid events that arrived behind the watermark and so are in no gold window.",
    (("event_id", "string", True, "the late event's id (its row is in silver)"),
     ("event_type", "string", True, "page_view, add_to_cart, order, payment or support_message"),
     ("event_time", "timestamptz", True, "when the event happened (UTC)"),
     ("watermark", "timestamptz", True, "the job's event-time watermark when the event arrived"),
     ("source_partition", "int", True, "Kafka partition or Pulsar partition index of the source record"),
     ("source_offset", "long", False, "Kafka offset (null for Pulsar)"),
     ("source_message_id", "binary", False, "Pulsar message id (null for Kafka)"),
     ("detected_at", "timestamptz", True, "when Flink wrote the row")),
    ("event_time", "event_day"), ("event_time",), INGEST, BY_EVENT_ID, insert="insert_gold_late_events")
GOLD_REVENUE = Table(
    "gold", "revenue_per_minute", "Orders, units and revenue per minute of event time, country, product category "
    "and currency; each window written once when the watermark passes it.",
    (("window_start", "timestamptz", True, "start of the one-minute event-time window (inclusive)"),
     ("window_end", "timestamptz", True, "end of the window (exclusive)"),
     ("country", "string", False, "ISO 3166-1 alpha-2 country code of the orders"),
     ("category", "string", True, "product category of the order lines"),
     ("currency", "string", True, "ISO 4217 currency code: revenue is never summed across currencies"),
     ("orders", "long", True, "orders with at least one line in this category: do not add up across categories"),
     ("units", "long", True, "sum of the lines' quantities"),
     ("revenue", "decimal(18, 2)", True, "sum of quantity x unit price of the lines")),
    ("window_start", "window_day"), ("window_start",), INGEST, NO_PERSON, insert="insert_gold_revenue_per_minute")
GOLD_FUNNEL = Table(
    "gold", "funnel_hourly", "Page views, add-to-carts and orders per hour of event time, with distinct visitors "
    "and buyers.",
    (("window_start", "timestamptz", True, "start of the one-hour event-time window (inclusive)"),
     ("window_end", "timestamptz", True, "end of the window (exclusive)"),
     ("page_views", "long", True, "page views in the hour"),
     ("add_to_carts", "long", True, "add-to-cart events in the hour"),
     ("orders", "long", True, "orders in the hour"),
     ("visitors", "long", True, "distinct users with a page view"),
     ("buyers", "long", True, "distinct users with an order")),
    ("window_start", "window_day"), ("window_start",), INGEST, NO_PERSON, insert="insert_gold_funnel_hourly")
# Privacy requests found in support messages by the ingest job (udfs.privacy); `flowlake privacy` lists
# them and carries out erasure.
GOLD_PRIVACY_REQUESTS = Table(
    "gold", "privacy_requests", "Privacy requests (erasure, access, rectification, opt-out, unsubscribe) found in "
    "support messages, with their 30-day due date and status.",
    (("request_id", "string", True, "<event_id>/<intent>: one request per intent a message expresses"),
     ("event_id", "string", True, "the support message (silver.support_messages.event_id)"),
     ("user_token", "string", True, "keyed hash of the customer's user_id (flowlake privacy erase finds it)"),
     ("intent", "string", True, "ERASURE, ACCESS, RECTIFICATION, OPT_OUT or UNSUBSCRIBE"),
     ("confidence", "double", True, "how sure the deciding part is (a rule's weight, or the model's "
      "probability), up to 0.99"),
     ("channel", "string", False, "where the message came in (email, chat, ...)"),
     ("received_at", "timestamptz", True, "when the customer sent the message (event time)"),
     ("due_by", "timestamptz", True, "received_at + 30 days: the answer is late after this"),
     ("status", "string", True, "OPEN until carried out (DONE: the erasure in audit.erasures, the export in "
      "audit.access_exports, anything closed by hand in audit.request_resolutions)"),
     ("detected_at", "timestamptz", True, "when Flink wrote the row"),
     ("decided_by", "string", False, "what found the request: rule:<intent>.<n> (the n-th pattern of the intent in "
      "udfs/rules/privacy_intents.toml) or model:<version> (udfs/models/); null in rows written before 2026-12")),
    ("received_at", "received_day"), ("received_at",), INGEST, KEPT, insert="insert_gold_privacy_requests")

# Gold of the sessions job (flink_jobs/sessions.py), from the silver topic.
GOLD_SESSIONS = Table(
    "gold", "sessions", "User sessions (30 min inactivity gap) from the silver topic, written when they close.",
    (("session_id", "string", True, "user_id and start in epoch ms: the same session, the same id"),
     ("user_id", "string", True, "the customer's account id"),
     ("session_start", "timestamptz", True, "event time of the first event"),
     ("session_end", "timestamptz", True, "event time of the last event; the session closed a gap later"),
     ("events", "long", True, "events of every type"),
     ("page_views", "long", True, "page views in the session"),
     ("cart_adds", "long", True, "add-to-cart events in the session"),
     ("orders", "long", True, "orders in the session"),
     ("revenue", "decimal(18, 2)", True, "sum of the orders' totals"),
     ("closed_at", "timestamptz", True, "when Flink wrote the row")),
    ("session_start", "session_day"), ("session_start",), SESSIONS, BY_USER_ID, insert="insert_gold_sessions")
GOLD_ALERTS = Table(
    "gold", "alerts", "Card velocity alerts: too many payments or too much amount per card in a time span.",
    (("alert_id", "string", True, "rule and payment: one alert per payment and rule"),
     ("rule", "string", True, "velocity"),
     ("card_token", "string", True, "keyed hash of the card number (silver.payments.card_token)"),
     ("user_id", "string", True, "the customer's account id"),
     ("payment_event_id", "string", True, "the payment that crossed a limit"),
     ("payment_time", "timestamptz", True, "when the payment happened (event time)"),
     ("window_start", "timestamptz", True, "the earliest payment of the card inside the span"),
     ("payments", "long", True, "payments of the card inside the span, this one included"),
     ("amount", "decimal(18, 2)", True, "their amount"),
     ("reasons", "list<optional string>", False, "limits crossed"),
     ("detected_at", "timestamptz", True, "when Flink wrote the row")),
    ("payment_time", "payment_day"), ("payment_time",), SESSIONS, BY_USER_ID, insert="insert_gold_alerts")

# One row per erasure `flowlake privacy erase` carried out.
AUDIT_ERASURES = Table(
    "audit", "erasures", "Every erasure of a person's data: who, when, which tables, rows removed, snapshots "
    "expired. Engineers only.",
    (("erasure_id", "string", True, "a random id"),
     ("user_token", "string", True, "keyed hash of the erased user_id: the audit keeps no raw id"),
     ("request_ids", "list<required string>", True, "the privacy requests carried out (gold.privacy_requests)"),
     ("requested_by", "string", True, "who ran the erasure (operating-system user)"),
     ("started_at", "timestamptz", True, "when the erasure began"),
     ("finished_at", "timestamptz", True, "when the last step ended"),
     ("tables", "list<required string>", True, "every table rows were deleted from"),
     ("rows_removed", "map<string, required long>", True, "rows deleted per table"),
     ("files_rewritten", "long", True, "data files rewritten without the rows"),
     ("snapshots_expired", "long", True, "snapshots expired so that time travel cannot return the rows")),
    None, ("started_at",), ERASURE, KEPT)

# One row per access request `flowlake privacy export` carried out.
AUDIT_ACCESS_EXPORTS = Table(
    "audit", "access_exports", "Every export of a person's data for an access request: who, when, which tables at "
    "which snapshots, rows exported, the bundle's manifest checksum. Engineers only.",
    (("export_id", "string", True, "a random id, also in the bundle's manifest.json"),
     ("user_token", "string", True, "keyed hash of the user_id: the audit keeps no raw id"),
     ("request_ids", "list<required string>", True, "the privacy requests carried out (gold.privacy_requests)"),
     ("requested_by", "string", True, "who ran the export (operating-system user)"),
     ("started_at", "timestamptz", True, "when the export began"),
     ("finished_at", "timestamptz", True, "when the bundle was complete"),
     ("tables", "list<required string>", True, "every table read"),
     ("rows_exported", "map<string, required long>", True, "rows exported per table"),
     ("snapshot_ids", "map<string, optional long>", True, "the snapshot each table was read at (null: no snapshot)"),
     ("manifest_sha256", "string", True, "SHA-256 of the bundle's manifest.json, which holds every file's checksum"),
     ("bytes", "long", True, "size of the bundle")),
    None, ("started_at",), EXPORT, KEPT)

# One row per request closed by hand with `flowlake privacy resolve` (rectifications, opt-outs carried out
# elsewhere, requests the classifier found by mistake).
AUDIT_REQUEST_RESOLUTIONS = Table(
    "audit", "request_resolutions", "Every privacy request closed by hand: which, by whom, when, how, with the "
    "note saying what was done. Engineers only.",
    (("resolution_id", "string", True, "a random id"),
     ("request_id", "string", True, "the request closed (gold.privacy_requests)"),
     ("intent", "string", True, "its intent"),
     ("user_token", "string", True, "keyed hash of the customer's user_id: the audit keeps no raw id"),
     ("outcome", "string", True, "RESOLVED (carried out) or NOT_A_REQUEST (the message asked for nothing of the kind)"),
     ("note", "string", True, "what was done, e.g. which field was corrected to what kind of value"),
     ("resolved_by", "string", True, "who closed it (operating-system user)"),
     ("resolved_at", "timestamptz", True, "when")),
    None, ("resolved_at",), RESOLVE, KEPT)

# Consent withdrawn by opt-out and unsubscribe requests (udfs.privacy.WITHDRAWS), kept by the ingest job
# within a checkpoint interval; the same rows on the compacted Kafka topic `consent`.
GOLD_CONSENT = Table(
    "gold", "consent", "Consent withdrawn, per person and purpose (marketing_email, sale_sharing, profiling), by the "
    "opt-out and unsubscribe requests in support messages; current within a checkpoint interval. The same rows "
    "are on the compacted Kafka topic consent.",
    (("user_token", "string", True, "keyed hash of the customer's user_id, as in gold.privacy_requests"),
     ("purpose", "string", True, "marketing_email, sale_sharing or profiling"),
     ("status", "string", True, "WITHDRAWN: the person is not to be addressed or processed for this purpose"),
     ("since", "timestamptz", True, "when the person asked: event time of the first request that withdrew it"),
     ("user_id", "string", True, "the customer's account id, for the systems that honour the consent"),
     ("request_id", "string", True, "the request that withdrew it (gold.privacy_requests)"),
     ("recorded_at", "timestamptz", True, "when Flink wrote the row")),
    None, ("since",), INGEST, BY_USER_ID, insert="insert_gold_consent", key=("user_token", "purpose"))

# The table checks (`flowlake check`, iceberg/quality.toml): one row per check, subject and run.
QUALITY_CHECK_RESULTS = Table(
    "quality", "check_results", "Every run of every table check (iceberg/quality.toml): what was observed against "
    "which threshold, at which snapshot, and whether it passed. analytics.quality_status shows the latest of each.",
    (("run_id", "string", True, "one id per `flowlake check` run"),
     ("check_name", "string", True, "the check's name in iceberg/quality.toml"),
     ("kind", "string", True, "volume, nulls, distinct, allowed_values, distribution, referential, freshness or "
      "reconcile"),
     ("table_name", "string", True, "the table checked (<namespace>.<name>)"),
     ("subject", "string", True, "what in the table: a column, a group (source_topic=events), or the whole table"),
     ("snapshot_id", "long", False, "the table's snapshot the check read (null: the table has none yet)"),
     ("observed", "double", False, "the value measured (null: nothing to measure, e.g. no rows in the window)"),
     ("threshold", "string", True, "the bound it is held to, e.g. '>= 0.5 x baseline 1200', '<= 0.01'"),
     ("passed", "boolean", True, "false: the data broke the expectation"),
     ("details", "string", False, "the figures behind the observed value"),
     ("checked_at", "timestamptz", True, "the end of the window checked (the run's time unless --at)"),
     ("run_at", "timestamptz", True, "when the check ran")),
    ("run_at", "run_day"), ("run_at",), CHECK, NO_PERSON)

# One row per `flowlake quarantine replay`: quarantined records run through the rules again.
AUDIT_REPLAYS = Table(
    "audit", "replays", "Every replay of quarantined records through the validation rules (flowlake quarantine "
    "replay): which rule, since when, with which rules file, how many records, how many written to silver.",
    (("replay_id", "string", True, "a random id"),
     ("rule", "string", True, "the rule id the records had failed (quarantine.events.failures)"),
     ("since", "timestamptz", False, "records quarantined from this time on (null: all)"),
     ("rules_sha256", "string", True, "SHA-256 of the rules file the records were checked with"),
     ("requested_by", "string", True, "who ran the replay (operating-system user)"),
     ("started_at", "timestamptz", True, "when the replay began"),
     ("finished_at", "timestamptz", True, "when its batch job ended"),
     ("flink_job_id", "string", False, "the Flink batch job"),
     ("records_matched", "long", True, "quarantined records of the rule since `since`"),
     ("rows_written", "map<string, required long>", True, "rows appended per silver table (an event id silver "
      "already had is never written again)")),
    None, ("started_at",), REPLAY, NO_PERSON)

# Gold restated by day from silver, late events included (the batch job flink_jobs/restate.py, `flowlake gold
# restate`, daily on the scheduler): each run overwrites the day partitions it computes, until a day is final.
_RESTATED: tuple[Column, ...] = (
    ("final", "boolean", True, "true once the day ended longer ago than the restatement margin: it changes no more"),
    ("restated_at", "timestamptz", True, "when the batch job computed the day"),
)
GOLD_REVENUE_DAILY = Table(
    "gold", "revenue_daily", "Orders, units and revenue per day of event time, country, product category and "
    "currency, restated from silver with the late events; analytics.revenue_daily reads it for the days it holds.",
    (("day", "timestamptz", True, "start of the UTC day"),
     ("country", "string", False, "ISO 3166-1 alpha-2 country code of the orders"),
     ("category", "string", True, "product category of the order lines"),
     ("currency", "string", True, "ISO 4217 currency code: revenue is never summed across currencies"),
     ("orders", "long", True, "orders with at least one line in this category: do not add up across categories"),
     ("units", "long", True, "sum of the lines' quantities"),
     ("revenue", "decimal(18, 2)", True, "sum of quantity x unit price of the lines"),
     *_RESTATED),
    ("day", "restated_day"), ("day",), "restate", NO_PERSON)
GOLD_FUNNEL_DAILY = Table(
    "gold", "funnel_daily", "Page views, add-to-carts and orders per day of event time with distinct visitors and "
    "buyers of the day, restated from silver with the late events; analytics.funnel_daily reads it.",
    (("day", "timestamptz", True, "start of the UTC day"),
     ("page_views", "long", True, "page views in the day"),
     ("add_to_carts", "long", True, "add-to-cart events in the day"),
     ("orders", "long", True, "orders in the day"),
     ("visitors", "long", True, "distinct users with a page view in the day"),
     ("buyers", "long", True, "distinct users with an order in the day"),
     *_RESTATED),
    ("day", "restated_day"), ("day",), "restate", NO_PERSON)

# Change data capture (the cdc job, flink_jobs/cdc.py): every change of the operational database's captured
# tables in bronze, as received; each table's current state in silver, upserted by its primary key.
BRONZE_CDC_CHANGES = Table(
    "bronze", "cdc_changes", "Every change of the operational database's captured tables as received (Debezium "
    "envelope fields), append-only: snapshot reads and inserts, updates, deletes. Holds raw PII: engineers only.",
    (("source_table", "string", True, "the table in the source database (schema.table)"),
     ("operation", "string", True, "r: read by the initial snapshot, c: insert, u: update, d: delete"),
     ("user_id", "string", False, "the customer the row is about (customers, order_status), for erasure"),
     ("row_key", "string", True, "the row's primary key as JSON (after the change; before it for a delete)"),
     ("before", "string", False, "the row before the change as JSON (updates, deletes)"),
     ("after", "string", False, "the row after the change as JSON (snapshot reads, inserts, updates)"),
     ("lsn", "long", False, "log sequence number of the change in the source's WAL (0 for snapshot reads)"),
     ("tx_id", "long", False, "the source transaction (null for snapshot reads)"),
     ("committed_at", "timestamptz", False, "commit time in the source (null for snapshot reads)"),
     ("ingested_at", "timestamptz", True, "when Flink read the change")),
    ("ingested_at", "ingested_day"), ("source_table", "lsn"), CDC, BY_USER_ID, insert="insert_bronze_cdc_changes",
    no_metrics=("before", "after"))
_CDC_TAIL: tuple[Column, ...] = (
    ("source_lsn", "long", False, "log sequence number of the change that wrote the row (0: the initial snapshot)"),
    ("source_tx_id", "long", False, "the source transaction of that change (null: the initial snapshot)"),
    ("changed_at", "timestamptz", False, "commit time of that change in the source (null: the initial snapshot)"),
)


def _captured(name: str, comment: str, key: tuple[str, ...], columns: tuple[Column, ...],
              masked: tuple[tuple[str, str, str], ...] = (), person: str = NO_PERSON) -> Table:
    """The silver table of a captured table: its current rows, PII masked, upserted by its primary key."""
    return Table("silver", name, comment, (*columns, *_CDC_TAIL), None, key, CDC, person,
                 insert=f"insert_silver_{name}", key=key, captured=True, masked=masked)


SILVER_CUSTOMERS = _captured(
    "customers", "Customers of the shop database as they are now (change data capture), PII masked (email, name "
    "and phone hashed: the same tokens as in the event tables).", ("user_id",),
    (("user_id", "string", True, "the customer's account id, as user_id in the event tables"),
     ("email", "string", True, "hashed"),
     ("full_name", "string", True, "hashed"),
     ("phone", "string", False, "hashed"),
     ("country", "string", False, "ISO 3166-1 alpha-2 country code"),
     ("created_at", "timestamptz", True, "when the customer signed up"),
     ("updated_at", "timestamptz", True, "when the row last changed in the source")),
    (("email", "EMAIL_ADDRESS", "hash"), ("full_name", "PERSON", "hash"), ("phone", "PHONE_NUMBER", "hash")),
    BY_USER_ID)
SILVER_PRODUCTS = _captured(
    "products", "Products of the shop database as they are now (change data capture).", ("sku",),
    (("sku", "string", True, "product SKU, as in the event tables"),
     ("title", "string", True, "product name"),
     ("category", "string", True, "product category"),
     ("price", "decimal(12, 2)", True, "current unit price"),
     ("stock", "int", True, "units in stock"),
     ("updated_at", "timestamptz", True, "when the row last changed in the source")))
SILVER_ORDER_STATUS = _captured(
    "order_status", "The status of each order in the shop database as it is now (change data capture).",
    ("order_id",),
    (("order_id", "string", True, "order id, as in silver.orders"),
     ("user_id", "string", True, "the customer's account id"),
     ("status", "string", True, "placed, paid, shipped, delivered or cancelled"),
     ("updated_at", "timestamptz", True, "when the status last changed in the source")),
    person=BY_USER_ID)

# Append only (see the module's doc): the ingest job's statements follow this order, its Kafka silver
# topic between the funnel and the privacy requests, where it has always been (flink_jobs/ingest.py).
TABLES = (BRONZE_EVENTS, QUARANTINE_EVENTS, SILVER_PAGE_VIEWS, SILVER_ADD_TO_CARTS, SILVER_ORDERS, SILVER_PAYMENTS,
          SILVER_SUPPORT_MESSAGES, GOLD_LATE_EVENTS, GOLD_REVENUE, GOLD_FUNNEL, GOLD_PRIVACY_REQUESTS,
          GOLD_SESSIONS, GOLD_ALERTS, AUDIT_ERASURES, AUDIT_ACCESS_EXPORTS, AUDIT_REQUEST_RESOLUTIONS, GOLD_CONSENT,
          QUALITY_CHECK_RESULTS, AUDIT_REPLAYS, GOLD_REVENUE_DAILY, GOLD_FUNNEL_DAILY, BRONZE_CDC_CHANGES,
          SILVER_CUSTOMERS, SILVER_PRODUCTS, SILVER_ORDER_STATUS)
NAMESPACES = ("bronze", "silver", "quarantine", "gold", "audit", "quality")
SILVER = tuple(table for table in TABLES if table.event_type)
# Silver table name per event type.
SILVER_TABLE_OF = {table.event_type: table.name for table in SILVER}
# The operational database's tables the cdc job captures, by their name there.
CAPTURED = {table.name: table for table in TABLES if table.captured}
# Gold tables of event-time windows: `flowlake submit` reads the newest window end from them.
GOLD_WINDOWS = (GOLD_REVENUE, GOLD_FUNNEL)


def written_by(job: str) -> tuple[Table, ...]:
    return tuple(table for table in TABLES if table.writer == job)


def by_identifier(identifier: str) -> Table:
    return next(table for table in TABLES if table.identifier == identifier)

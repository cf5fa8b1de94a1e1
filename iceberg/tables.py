"""Table specs of the lakehouse: schema, partitioning and properties per table, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    TimestamptzType,
)


class TableProperties:
    FORMAT_VERSION = "format-version"
    FORMAT_VERSION_DEFAULT = "2"
    PARQUET_COMPRESSION = "write.parquet.compression-codec"
    PARQUET_COMPRESSION_DEFAULT = "zstd"
    TARGET_FILE_SIZE_BYTES = "write.target-file-size-bytes"
    TARGET_FILE_SIZE_BYTES_DEFAULT = str(128 * 1024 * 1024)
    # Rows of one partition go to one writer: one file per partition per checkpoint, not one per writer
    # (the gold tables; the streamed ones write without the shuffle, see _streamed).
    DISTRIBUTION_MODE = "write.distribution-mode"
    DISTRIBUTION_MODE_DEFAULT = "hash"
    # Several jobs (and compaction) commit to the same tables: retry on concurrent commits.
    COMMIT_RETRIES = "commit.retry.num-retries"
    COMMIT_RETRIES_DEFAULT = "10"
    # Column statistics for pruning; truncated so long strings do not bloat manifests.
    METRICS_DEFAULT = "write.metadata.metrics.default"
    METRICS_DEFAULT_DEFAULT = "truncate(16)"
    METRICS_COLUMN_PREFIX = "write.metadata.metrics.column."
    # A streaming writer commits once per checkpoint: keep the metadata files from piling up.
    METADATA_DELETE_AFTER_COMMIT = "write.metadata.delete-after-commit.enabled"
    METADATA_PREVIOUS_VERSIONS_MAX = "write.metadata.previous-versions-max"
    METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT = "100"
    # The table comment Trino shows (SHOW CREATE TABLE, COMMENT ON TABLE).
    COMMENT = "comment"


DEFAULT_PROPERTIES = {
    TableProperties.FORMAT_VERSION: TableProperties.FORMAT_VERSION_DEFAULT,
    TableProperties.PARQUET_COMPRESSION: TableProperties.PARQUET_COMPRESSION_DEFAULT,
    TableProperties.TARGET_FILE_SIZE_BYTES: TableProperties.TARGET_FILE_SIZE_BYTES_DEFAULT,
    TableProperties.DISTRIBUTION_MODE: TableProperties.DISTRIBUTION_MODE_DEFAULT,
    TableProperties.COMMIT_RETRIES: TableProperties.COMMIT_RETRIES_DEFAULT,
    TableProperties.METRICS_DEFAULT: TableProperties.METRICS_DEFAULT_DEFAULT,
    TableProperties.METADATA_DELETE_AFTER_COMMIT: "true",
    TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: TableProperties.METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT,
}

NAMESPACES = ("bronze", "silver", "quarantine", "gold", "audit")
MONEY = DecimalType(12, 2)


@dataclass(frozen=True)
class TableSpec:
    namespace: str
    name: str
    schema: Schema
    partition_spec: PartitionSpec
    sort_order: SortOrder = field(default_factory=SortOrder)
    properties: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def table_properties(self) -> dict[str, str]:
        """The properties to set on the table: the spec's, with its comment."""
        comment = TABLE_COMMENTS.get(self.identifier)
        return {**self.properties, TableProperties.COMMENT: comment} if comment else dict(self.properties)


def _fields(*columns: tuple[str, IcebergType, bool, str]) -> Schema:
    """A schema from (name, type, required, doc) with field ids in order; nested ids follow at 1000+."""
    return Schema(*(NestedField(i, name, type_, required=required, doc=doc or None)
                    for i, (name, type_, required, doc) in enumerate(columns, start=1)))


def _by_day(schema: Schema, column: str, name: str) -> PartitionSpec:
    return PartitionSpec(PartitionField(source_id=schema.find_field(column).field_id, field_id=1000,
                                        transform=DayTransform(), name=name))


def _sorted_by(schema: Schema, *columns: str) -> SortOrder:
    return SortOrder(*(SortField(source_id=schema.find_field(c).field_id, transform=IdentityTransform())
                       for c in columns))


def _streamed(*no_metrics: str) -> dict[str, str]:
    """Properties of the append-only tables every record reaches (bronze, quarantine, silver): each
    Flink writer writes its own files, without a shuffle of every record by partition first (it cost
    CPU per record and a network hop; compaction merges the extra files); no statistics for free-text
    or binary columns, whose min/max would only bloat manifests."""
    return {**DEFAULT_PROPERTIES, TableProperties.DISTRIBUTION_MODE: "none",
            **{TableProperties.METRICS_COLUMN_PREFIX + c: "none" for c in no_metrics}}


# Where a record came from, the same columns for a Kafka and a Pulsar source: a Kafka record is
# (topic, partition, offset), a Pulsar message (partition topic, message id).
_SOURCE = (
    ("source_topic", StringType(), True, "Kafka topic, or Pulsar partition topic (persistent://...-partition-N)"),
    ("source_partition", IntegerType(), True, "Kafka partition, or the Pulsar topic's partition index"),
    ("source_offset", LongType(), False, "Kafka offset (null for Pulsar)"),
    ("source_message_id", BinaryType(), False, "Pulsar message id, serialized (null for Kafka)"),
    ("source_timestamp", TimestamptzType(), True, "Kafka record timestamp, or Pulsar publish time"),
)
# Columns renamed since a table was first created: ensure_table renames them in place (same field
# ids, so existing data files keep their values).
RENAMED = {"kafka_topic": "source_topic", "kafka_partition": "source_partition", "kafka_offset": "source_offset",
           "kafka_timestamp": "source_timestamp", "kafka_day": "source_day"}

# Bronze: every record as received, bytes untouched, with where it came from. (topic, partition,
# offset) or (topic, message id) is unique. Nothing is ever filtered here.
_BRONZE = _fields(
    ("event_key", BinaryType(), False, "record key, as received"),
    ("payload", BinaryType(), False, "record value, as received (from_utf8(payload) in Trino)"),
    *_SOURCE,
    ("ingested_at", TimestamptzType(), True, "when Flink read the record"),
    ("headers", MapType(1001, StringType(), 1002, BinaryType(), value_required=False), False,
     "Kafka headers, or Pulsar message properties (UTF-8)"),
)
BRONZE_EVENTS = TableSpec("bronze", "events", _BRONZE, _by_day(_BRONZE, "source_timestamp", "source_day"),
                          _sorted_by(_BRONZE, "source_partition", "source_offset"),
                          _streamed("payload", "event_key", "source_message_id"))

# Quarantine: every record that failed validation, raw, with the rules it failed.
_QUARANTINE = _fields(
    ("event_key", BinaryType(), False, "record key, as received"),
    ("payload", BinaryType(), False, "record value, as received"),
    *_SOURCE,
    ("event_type", StringType(), False, "when the payload parsed far enough to name one"),
    ("failures", ListType(1001, StringType(), element_required=True), True, "'<rule id>: <reason>' per failed rule"),
    ("quarantined_at", TimestamptzType(), True, "when Flink wrote the row"),
)
QUARANTINE_EVENTS = TableSpec("quarantine", "events", _QUARANTINE,
                              _by_day(_QUARANTINE, "source_timestamp", "source_day"),
                              _sorted_by(_QUARANTINE, "source_partition", "source_offset"),
                              _streamed("payload", "source_message_id"))

# Silver: one table per event type; parsed, typed, validated, PII masked, first occurrence of each
# event_id only. The source coordinates lead back to the bronze record.
_SILVER_COMMON = (
    ("event_id", StringType(), True, "the event's own id; silver keeps its first occurrence only"),
    ("event_time", TimestamptzType(), True, "when the event happened (UTC), from the payload"),
    ("user_id", StringType(), True, "the customer's account id (an internal id, not masked)"),
    ("country", StringType(), False, "ISO 3166-1 alpha-2 country code"),
)
_SILVER_TAIL = (
    ("source_partition", IntegerType(), True, "Kafka partition or Pulsar partition index of the source record"),
    ("source_offset", LongType(), False, "Kafka offset (null for Pulsar)"),
    ("source_message_id", BinaryType(), False, "Pulsar message id (null for Kafka)"),
    ("processed_at", TimestamptzType(), True, "when Flink wrote the row"),
)
_SILVER_COLUMNS: dict[str, tuple[tuple[str, IcebergType, bool, str], ...]] = {
    "page_views": (
        ("page", StringType(), True, "path of the page viewed"),
        ("session_id", StringType(), True, "the visitor's browsing session"),
        ("ip_address", StringType(), False, "hashed"),
        ("user_agent", StringType(), False, "browser user agent as sent"),
    ),
    "add_to_carts": (
        ("sku", StringType(), True, "product SKU"),
        ("quantity", IntegerType(), True, "units added"),
        ("unit_price", MONEY, True, "price of one unit"),
        ("session_id", StringType(), False, "the visitor's browsing session"),
    ),
    "orders": (
        ("order_id", StringType(), True, "order id (ORD-...)"),
        ("items", StringType(), True, "JSON array of order lines (sku, name, category, quantity, unit_price); "
                  "names scanned for PII"),
        ("item_count", IntegerType(), True, "number of order lines"),
        ("total", MONEY, True, "order total as sent, in currency"),
        ("currency", StringType(), True, "ISO 4217 currency code"),
        ("email", StringType(), True, "hashed"),
        ("shipping_name", StringType(), False, "hashed"),
    ),
    "payments": (
        ("order_id", StringType(), True, "the order paid"),
        ("amount", MONEY, True, "amount paid, in currency"),
        ("currency", StringType(), True, "ISO 4217 currency code"),
        ("method", StringType(), True, "payment method (card, paypal, ...)"),
        ("card_number", StringType(), False, "masked, last 4 digits kept"),
        ("card_token", StringType(), False, "keyed hash of the whole card number: the same card, the same token"),
    ),
    "support_messages": (
        ("channel", StringType(), True, "where the message came in (email, chat, ...)"),
        ("message", StringType(), True, "PII found in the text is redacted"),
    ),
}
# Silver table name per event type.
SILVER_TABLE_OF = {"page_view": "page_views", "add_to_cart": "add_to_carts", "order": "orders",
                   "payment": "payments", "support_message": "support_messages"}


def _silver(name: str) -> TableSpec:
    schema = _fields(*_SILVER_COMMON, *_SILVER_COLUMNS[name], *_SILVER_TAIL)
    return TableSpec("silver", name, schema, _by_day(schema, "event_time", "event_day"),
                     _sorted_by(schema, "event_time"),
                     _streamed("message", "items", "user_agent", "source_message_id"))


SILVER_TABLES = tuple(_silver(name) for name in _SILVER_COLUMNS)

# Gold: event-time windows over on-time silver events; late ones are listed in gold.late_events.
_REVENUE = _fields(
    ("window_start", TimestamptzType(), True, "start of the one-minute event-time window (inclusive)"),
    ("window_end", TimestamptzType(), True, "end of the window (exclusive)"),
    ("country", StringType(), False, "ISO 3166-1 alpha-2 country code of the orders"),
    ("category", StringType(), True, "product category of the order lines"),
    ("currency", StringType(), True, "ISO 4217 currency code: revenue is never summed across currencies"),
    ("orders", LongType(), True, "orders with at least one line in this category: do not add up across categories"),
    ("units", LongType(), True, "sum of the lines' quantities"),
    ("revenue", DecimalType(18, 2), True, "sum of quantity x unit price of the lines"),
)
GOLD_REVENUE = TableSpec("gold", "revenue_per_minute", _REVENUE, _by_day(_REVENUE, "window_start", "window_day"),
                         _sorted_by(_REVENUE, "window_start"))
_FUNNEL = _fields(
    ("window_start", TimestamptzType(), True, "start of the one-hour event-time window (inclusive)"),
    ("window_end", TimestamptzType(), True, "end of the window (exclusive)"),
    ("page_views", LongType(), True, "page views in the hour"),
    ("add_to_carts", LongType(), True, "add-to-cart events in the hour"),
    ("orders", LongType(), True, "orders in the hour"),
    ("visitors", LongType(), True, "distinct users with a page view"),
    ("buyers", LongType(), True, "distinct users with an order"),
)
GOLD_FUNNEL = TableSpec("gold", "funnel_hourly", _FUNNEL, _by_day(_FUNNEL, "window_start", "window_day"),
                        _sorted_by(_FUNNEL, "window_start"))
_LATE = _fields(
    ("event_id", StringType(), True, "the late event's id (its row is in silver)"),
    ("event_type", StringType(), True, "page_view, add_to_cart, order, payment or support_message"),
    ("event_time", TimestamptzType(), True, "when the event happened (UTC)"),
    ("watermark", TimestamptzType(), True, "the job's event-time watermark when the event arrived"),
    ("source_partition", IntegerType(), True, "Kafka partition or Pulsar partition index of the source record"),
    ("source_offset", LongType(), False, "Kafka offset (null for Pulsar)"),
    ("source_message_id", BinaryType(), False, "Pulsar message id (null for Kafka)"),
    ("detected_at", TimestamptzType(), True, "when Flink wrote the row"),
)
GOLD_LATE_EVENTS = TableSpec("gold", "late_events", _LATE, _by_day(_LATE, "event_time", "event_day"),
                             _sorted_by(_LATE, "event_time"))

# Gold tables of the sessions job (flink_jobs/sessions.py).
_SESSIONS = _fields(
    ("session_id", StringType(), True, "user_id and start in epoch ms: the same session, the same id"),
    ("user_id", StringType(), True, "the customer's account id"),
    ("session_start", TimestamptzType(), True, "event time of the first event"),
    ("session_end", TimestamptzType(), True, "event time of the last event; the session closed a gap later"),
    ("events", LongType(), True, "events of every type"),
    ("page_views", LongType(), True, "page views in the session"),
    ("cart_adds", LongType(), True, "add-to-cart events in the session"),
    ("orders", LongType(), True, "orders in the session"),
    ("revenue", DecimalType(18, 2), True, "sum of the orders' totals"),
    ("closed_at", TimestamptzType(), True, "when Flink wrote the row"),
)
GOLD_SESSIONS = TableSpec("gold", "sessions", _SESSIONS, _by_day(_SESSIONS, "session_start", "session_day"),
                          _sorted_by(_SESSIONS, "session_start"))
_ALERTS = _fields(
    ("alert_id", StringType(), True, "rule and payment: one alert per payment and rule"),
    ("rule", StringType(), True, "velocity"),
    ("card_token", StringType(), True, "keyed hash of the card number (silver.payments.card_token)"),
    ("user_id", StringType(), True, "the customer's account id"),
    ("payment_event_id", StringType(), True, "the payment that crossed a limit"),
    ("payment_time", TimestamptzType(), True, "when the payment happened (event time)"),
    ("window_start", TimestamptzType(), True, "the earliest payment of the card inside the span"),
    ("payments", LongType(), True, "payments of the card inside the span, this one included"),
    ("amount", DecimalType(18, 2), True, "their amount"),
    ("reasons", ListType(1001, StringType(), element_required=False), False, "limits crossed"),
    ("detected_at", TimestamptzType(), True, "when Flink wrote the row"),
)
GOLD_ALERTS = TableSpec("gold", "alerts", _ALERTS, _by_day(_ALERTS, "payment_time", "payment_day"),
                        _sorted_by(_ALERTS, "payment_time"))

# Privacy requests found in support messages by the medallion job (udfs.privacy); `flowlake privacy`
# lists them and carries out erasure.
_PRIVACY_REQUESTS = _fields(
    ("request_id", StringType(), True, "<event_id>/<intent>: one request per intent a message expresses"),
    ("event_id", StringType(), True, "the support message (silver.support_messages.event_id)"),
    ("user_token", StringType(), True, "keyed hash of the customer's user_id (flowlake privacy erase finds it)"),
    ("intent", StringType(), True, "ERASURE, ACCESS, RECTIFICATION, OPT_OUT or UNSUBSCRIBE"),
    ("confidence", DoubleType(), True, "the classifier's confidence, 0.5 to 0.99"),
    ("channel", StringType(), False, "where the message came in (email, chat, ...)"),
    ("received_at", TimestamptzType(), True, "when the customer sent the message (event time)"),
    ("due_by", TimestamptzType(), True, "received_at + 30 days: the answer is late after this"),
    ("status", StringType(), True, "OPEN until carried out (DONE, with the erasure in audit.erasures)"),
    ("detected_at", TimestamptzType(), True, "when Flink wrote the row"),
)
GOLD_PRIVACY_REQUESTS = TableSpec("gold", "privacy_requests", _PRIVACY_REQUESTS,
                                  _by_day(_PRIVACY_REQUESTS, "received_at", "received_day"),
                                  _sorted_by(_PRIVACY_REQUESTS, "received_at"))
# One row per erasure `flowlake privacy erase` carried out.
_ERASURES = _fields(
    ("erasure_id", StringType(), True, "a random id"),
    ("user_token", StringType(), True, "keyed hash of the erased user_id: the audit keeps no raw id"),
    ("request_ids", ListType(1001, StringType(), element_required=True), True,
     "the privacy requests carried out (gold.privacy_requests)"),
    ("requested_by", StringType(), True, "who ran the erasure (operating-system user)"),
    ("started_at", TimestamptzType(), True, "when the erasure began"),
    ("finished_at", TimestamptzType(), True, "when the last step ended"),
    ("tables", ListType(1002, StringType(), element_required=True), True, "every table rows were deleted from"),
    ("rows_removed", MapType(1003, StringType(), 1004, LongType(), value_required=True), True,
     "rows deleted per table"),
    ("files_rewritten", LongType(), True, "data files rewritten without the rows"),
    ("snapshots_expired", LongType(), True, "snapshots expired so that time travel cannot return the rows"),
)
AUDIT_ERASURES = TableSpec("audit", "erasures", _ERASURES, PartitionSpec(), _sorted_by(_ERASURES, "started_at"))

# What each table is, for SQL users (Trino: SHOW CREATE TABLE, information_schema, DESCRIBE).
TABLE_COMMENTS = {
    "bronze.events": "Every event as received from Kafka or Pulsar, raw bytes with source coordinates; nothing "
                     "filtered. Holds raw PII: engineers only.",
    "quarantine.events": "Every event that failed validation, raw, with the rules it failed. Holds raw PII: "
                         "engineers only.",
    "silver.page_views": "Valid page views, deduplicated by event_id, PII masked (IP hashed).",
    "silver.add_to_carts": "Valid add-to-cart events, deduplicated by event_id.",
    "silver.orders": "Valid orders, deduplicated by event_id, PII masked (email and name hashed).",
    "silver.payments": "Valid payments, deduplicated by event_id; card numbers masked to the last 4 digits, "
                       "card_token a keyed hash.",
    "silver.support_messages": "Valid support messages, deduplicated by event_id, PII in the text redacted.",
    "gold.revenue_per_minute": "Orders, units and revenue per minute of event time, country, product category "
                               "and currency; each window written once when the watermark passes it.",
    "gold.funnel_hourly": "Page views, add-to-carts and orders per hour of event time, with distinct visitors "
                          "and buyers.",
    "gold.late_events": "Valid events that arrived behind the watermark and so are in no gold window.",
    "gold.sessions": "User sessions (30 min inactivity gap) from the silver topic, written when they close.",
    "gold.alerts": "Card velocity alerts: too many payments or too much amount per card in a time span.",
    "gold.privacy_requests": "Privacy requests (erasure, access, rectification, opt-out, unsubscribe) found in "
                             "support messages, with their 30-day due date and status.",
    "audit.erasures": "Every erasure of a person's data: who, when, which tables, rows removed, snapshots "
                      "expired. Engineers only.",
}

# Gold tables of event-time windows, each written once when the watermark passes its end.
GOLD_WINDOW_TABLES = (GOLD_REVENUE, GOLD_FUNNEL)
ALL_TABLES = (BRONZE_EVENTS, QUARANTINE_EVENTS, *SILVER_TABLES, GOLD_REVENUE, GOLD_FUNNEL, GOLD_LATE_EVENTS,
              GOLD_SESSIONS, GOLD_ALERTS, GOLD_PRIVACY_REQUESTS, AUDIT_ERASURES)

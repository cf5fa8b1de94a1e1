"""Clients of the services flowlake talks to: Flink's REST API and CLI, Trino, Kafka, Pulsar, object storage."""

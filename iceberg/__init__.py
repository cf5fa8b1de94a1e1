"""Iceberg table specs (schemas, partitioning, properties) and catalog access."""

# flowlake: `make demo` runs the pipeline on a fresh machine; `make test` runs every test.
SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/flowlake
TOOLS := $(CACHE)/tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
# The real interpreter, not a pyenv shim.
PYTHON ?= $(shell python3 -c 'import sys; print(sys.executable)')
VENV := .venv
FLOWLAKE := $(VENV)/bin/flowlake

.PHONY: bootstrap install up down demo test lint unit clean bench-pii bench-flink-udf bench-medallion bench-sessions bench-maintenance bench-pipeline bench-privacy bench-erasure bench-batch bench-cdc train-privacy

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.ready: $(UV) deploy/requirements/control.txt pyproject.toml
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r deploy/requirements/control.txt
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $@

bootstrap: $(VENV)/.ready

install: bootstrap
	$(FLOWLAKE) install

up: install
	$(FLOWLAKE) up

down:
	$(FLOWLAKE) down

demo: up
	$(FLOWLAKE) demo

lint: bootstrap
	$(VENV)/bin/ruff check flowlake udfs iceberg flink_jobs tests bench
	$(VENV)/bin/mypy flowlake udfs iceberg

unit: bootstrap
	$(VENV)/bin/pytest -m "not integration and not e2e"

test: bootstrap lint
	$(FLOWLAKE) install --all
	$(VENV)/bin/pytest

clean: down
	rm -rf $(VENV)

BENCH_VENV := $(CACHE)/venvs/bench-pii
bench-pii: $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BENCH_VENV)
	$(UV) pip install --quiet --python $(BENCH_VENV)/bin/python -r bench/requirements-pii.txt
	taskset -c 0 $(BENCH_VENV)/bin/python bench/pii_bench.py

bench-flink-udf: install
	JAVA_HOME=$$($(VENV)/bin/python -c 'from flowlake.config import load_settings; from flowlake.stack.runtime import Runtime; print(Runtime(load_settings()).java17_home)') \
	  $$($(VENV)/bin/python -c 'from flowlake.config import load_settings; from flowlake.stack.runtime import Runtime; print(Runtime(load_settings()).job_python)') \
	  bench/flink_udf_bench.py

# The medallion job on the local stack: events/s through it, then (ARGS="--rate 200 --minutes 10")
# a steady run and the data files per partition it leaves.
bench-medallion: up
	$(VENV)/bin/python bench/medallion_bench.py $(ARGS)

# State size of the sessions job against active users (ARGS="--users 10000 100000 --state-backend rocksdb").
bench-sessions: up
	$(VENV)/bin/python bench/sessions_bench.py $(ARGS)

# Files per partition and Trino scan times before and after `flowlake maintain` on a streamed table,
# with each step's duration (ARGS="--rate 100 --minutes 10").
bench-maintenance: up
	$(VENV)/bin/python bench/maintenance_bench.py $(ARGS)

# Throughput and CPU per record of each process for the medallion job, the same job with pass-through SQL
# and the bare Python bridge (alternating rounds, in a bench catalog of their own, dropped afterwards),
# freshness at half the rate, recovery after TaskManager kills (ARGS="--events 60000 --rounds 3
# --probe-seconds 90 --kills 3"); tables for docs/benchmarks.md.
bench-pipeline: up
	$(VENV)/bin/python bench/pipeline_bench.py $(ARGS)

# The cdc job: snapshot rows/s, changes/s with CPU per change of each process (rounds of large UPDATE
# backlogs), lag under a trickle, and Trino's scan of an upsert table before and after compaction.
# Uses the stack's shop database and silver tables (ARGS="--customers 10000 --rounds 4 --updates 250000").
bench-cdc: up
	$(VENV)/bin/python bench/cdc_bench.py $(ARGS)

# Precision and recall per label of the privacy-intent classifier on its labelled sets, and texts/s.
bench-privacy: bootstrap
	taskset -c 0 $(VENV)/bin/python -m bench.privacy_eval $(ARGS)

# The privacy-intent model's weights (udfs/models/privacy_intents.json) from tests/data/privacy/train/
# and dev.tsv, with scikit-learn in a venv of its own: scoring needs none of it.
TRAIN_VENV := $(CACHE)/venvs/train
train-privacy: $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(TRAIN_VENV)
	$(UV) pip install --quiet --python $(TRAIN_VENV)/bin/python -r bench/requirements-train.txt
	$(TRAIN_VENV)/bin/python bench/train_privacy.py $(ARGS)

# Erasure of one person on a bronze table of a million rows (ARGS="--rows 1000000").
bench-erasure: up
	$(VENV)/bin/python bench/erasure_bench.py $(ARGS)

# The batch side (table checks, gold restatement, a sample, a quarantine replay) on million-row tables.
bench-batch: up
	$(VENV)/bin/python bench/batch_bench.py $(ARGS)

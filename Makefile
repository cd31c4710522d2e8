# exsync: `make test` runs every test, `make demo` runs what exsync can do, locally.
# Both install what they need (Debian packages via apt-get, Python packages into .venv)
# and are idempotent: a second run installs nothing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
# aws-sam-cli pins boto3 below moto's, so it lives in a venv of its own.
SAM_VENV    := .venv-sam
SAM         := $(SAM_VENV)/bin/sam
CARGO       ?= cargo
# Microsoft's EWS schema lives beside the repository (../shared/ews-schema); tests and the
# simulator read it from here.
export EXSYNC_EWS_SCHEMA_DIR ?= $(abspath $(CURDIR)/../shared/ews-schema)
# One target dir for the whole workspace (and cargo-lambda later).
export CARGO_TARGET_DIR ?= $(CURDIR)/target

APT_PACKAGES := libxml2-utils libxml2-dev pkg-config curl ca-certificates

.PHONY: help deps venv sam-venv build test test-rust test-interop lint lint-template demo bench clean-run

help:
	@echo "make test   - install what is needed, lint, run every Rust and Python test"
	@echo "make demo   - start the Exchange simulator and probe it with the exsync CLI"
	@echo "make bench  - run the parsing and scheduler benchmarks (results go to docs/performance.md by hand)"

# --- installation -----------------------------------------------------------------------

deps: .run/apt.stamp

.run/apt.stamp:
	@mkdir -p .run
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@test -d "$(EXSYNC_EWS_SCHEMA_DIR)" || { echo "EWS schema not found at $(EXSYNC_EWS_SCHEMA_DIR) (set EXSYNC_EWS_SCHEMA_DIR)"; exit 1; }
	@touch $@

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

sam-venv: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-sam.txt
	@touch $@

build: deps
	$(CARGO) build --workspace --all-targets

# --- tests ------------------------------------------------------------------------------

test: deps venv lint lint-template test-rust test-interop
	@echo "make test: all suites passed"

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The SAM template, offline: cfn-lint (pinned in requirements.txt) and SAM's own lint.
# SAM needs a region to resolve the partition, nothing else; telemetry stays off.
lint-template: venv sam-venv
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM) validate --lint --template-file template.yaml

# Every Rust test runs with a local AWS endpoint (moto server, from .venv) up: the AWS
# adapters' tests fail without one rather than pass silently.
test-rust: deps venv
	scripts/with-moto.sh $(CARGO) test --workspace

# The exchangelib suite starts its own simulator (the ews-sim binary) per test session.
test-interop: deps venv
	$(CARGO) build -p exsync-ews-sim --bin ews-sim
	EWS_SIM_BIN=$(CARGO_TARGET_DIR)/debug/ews-sim $(PY) -m pytest -q tests/interop

# --- demo -------------------------------------------------------------------------------

demo: deps venv
	$(CARGO) build -p exsync-ews-sim --bin ews-sim -p exsync-cli --bin exsync
	BIN_DIR=$(CARGO_TARGET_DIR)/debug scripts/demo.sh

# --- benchmarks -------------------------------------------------------------------------

bench: deps venv
	$(CARGO) bench -p exsync-ews --bench parse
	$(PY) scripts/bench_exchangelib.py
	EXSYNC_BENCH_SQS_LATENCY_MS=20 EXSYNC_BENCH_DUE_LATENCY_MS=20 \
	  scripts/with-moto.sh $(CARGO) bench -p exsync-aws --bench scheduler -- 100000

clean-run:
	rm -rf .run

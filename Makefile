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
# cargo-lambda and zig for `make package`, in a third venv: ziglang is a 100 MB wheel that
# `make test` has no use for.
PKG_VENV    := .venv-package
# template.yaml's functions are arm64 (Graviton).
LAMBDA_RUST_TARGET := aarch64-unknown-linux-gnu
# The function packages (functions/NAME is the package exsync-fn-NAME with the bin NAME), as
# cargo-lambda's build option {packages=["exsync-fn-admin-api",...]} (see `package`).
LAMBDA_PACKAGES := $(addprefix exsync-fn-,$(notdir $(wildcard functions/*)))
comma := ,
empty :=
space := $(empty) $(empty)
CARGO_LAMBDA_BUILD_OPTIONS := {packages=[$(subst $(space),$(comma),$(patsubst %,"%",$(LAMBDA_PACKAGES)))]}
CARGO       ?= cargo
# Microsoft's EWS schema lives beside the repository (../shared/ews-schema); tests and the
# simulator read it from here.
export EXSYNC_EWS_SCHEMA_DIR ?= $(abspath $(CURDIR)/../shared/ews-schema)
# One target dir for the whole workspace (and cargo-lambda later).
export CARGO_TARGET_DIR ?= $(CURDIR)/target

APT_PACKAGES := libxml2-utils libxml2-dev pkg-config curl ca-certificates

.PHONY: help deps venv sam-venv package-venv build package test test-rust test-interop test-demo lint lint-template demo bench clean-run

help:
	@echo "make test   - install what is needed, lint, run every Rust and Python test"
	@echo "make demo   - run exsync locally (moto, the Exchange simulator, exsync serve) through the eight-step walkthrough; KEEP=1 leaves it running"
	@echo "make bench  - run the parsing and scheduler benchmarks (results go to docs/performance.md by hand)"
	@echo "make package - build the four Lambda functions for sam deploy (.aws-sam/build/*/bootstrap, arm64)"

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

package-venv: $(PKG_VENV)/.installed

$(PKG_VENV)/.installed: requirements-package.txt
	@test -x $(PKG_VENV)/bin/python || python3 -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-package.txt
	@touch $@

build: deps
	$(CARGO) build --workspace --all-targets

# --- packaging --------------------------------------------------------------------------

# The four functions as `sam deploy` takes them: .aws-sam/build/<LogicalId>/bootstrap. SAM's
# rust-cargolambda build method (a beta feature) runs `cargo lambda build --release --arm64
# --bin NAME` in each function's own folder (no scratch copy) and keeps the CARGO_TARGET_DIR
# exported above, so the four builds share target/aarch64-unknown-linux-gnu/release. Sharing
# alone is not enough: cargo picks dependency features per selected package, so four one-package
# builds compiled exsync-domain, exsync-aws, tokio, hyper, the AWS SDK... in up to three feature
# sets (cold: 15.6 min). CARGO_LAMBDA_BUILD selects all four packages in every build (SAM's --bin
# still picks the one binary), so each resolves the same features and the dependencies compile
# once. cargo-lambda links with zig, which it runs as `python3 -m ziglang`: the package venv's
# bin comes first on PATH. The target's std comes from rustup (added here when missing; rustup
# needs the network for that once).
package: sam-venv package-venv
	@rustup target list --installed | grep -qx $(LAMBDA_RUST_TARGET) || rustup target add $(LAMBDA_RUST_TARGET)
	PATH="$(CURDIR)/$(PKG_VENV)/bin:$(CURDIR)/$(SAM_VENV)/bin:$$PATH" \
	  CARGO_LAMBDA_BUILD='$(CARGO_LAMBDA_BUILD_OPTIONS)' \
	  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}" \
	  $(SAM) build --beta-features --template-file template.yaml

# --- tests ------------------------------------------------------------------------------

test: deps venv lint lint-template test-rust test-interop test-demo
	@echo "make test: all suites passed"

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# Doc comments link to the code they explain; a rename must not leave them dangling.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

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

# The walkthrough (scripts/demo.sh): a moto server (with-moto.sh), the simulator seeded from
# tests/ews-sim/demo-config.json, `exsync serve --init` with the scheduler and both workers
# in-process, and the exsync-demo driver through the eight steps. KEEP=1 leaves it running.
KEEP ?=
DEMO_BINS := -p exsync-ews-sim --bin ews-sim -p exsync-cli --bin exsync -p exsync-demo --bin exsync-demo

demo: deps venv
	$(CARGO) build $(DEMO_BINS)
	BIN_DIR=$(CARGO_TARGET_DIR)/debug KEEP=$(KEEP) scripts/with-moto.sh scripts/demo.sh

# make test runs the walkthrough too (about a minute after the build), so it cannot rot.
test-demo: KEEP :=
test-demo: demo

# --- benchmarks -------------------------------------------------------------------------

bench: deps venv
	$(CARGO) bench -p exsync-ews --bench parse
	$(PY) scripts/bench_exchangelib.py
	EXSYNC_BENCH_SQS_LATENCY_MS=20 EXSYNC_BENCH_DUE_LATENCY_MS=20 \
	  scripts/with-moto.sh $(CARGO) bench -p exsync-aws --bench scheduler -- 100000

clean-run:
	rm -rf .run

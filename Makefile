# csc.mlflow: developer and CI entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
# Built test tools (Kubernetes, kwok, MinIO) and large venvs live outside the clone,
# keyed by version, so that a warm run is fast.
export CSC_MLFLOW_CACHE ?= $(HOME)/.cache/csc-mlflow
export PATH := $(BIN):$(PATH)
COLLECTION_LINK := .ansible/collections/ansible_collections/csc/mlflow

.PHONY: help setup cluster-tools stack-tools tools cluster-up cluster-down lint sanity docs pytest test golden demo demo-down bench clean mlflow-release

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

setup: $(VENV)/.installed $(COLLECTION_LINK)  ## Python venv with Ansible and test tooling; link the collection

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

cluster-tools:  ## install/build the local test cluster's components (cached)
	tests/cluster/build.sh

stack-tools: setup  ## install/build PostgreSQL, NGINX, MinIO and MLflow for the running-stack tests (cached)
	tests/stack/install.sh

tools: cluster-tools stack-tools

cluster-up: setup cluster-tools  ## start the local test cluster (kubeconfig in .cluster/kubeconfig)
	tests/cluster/cluster.sh up

cluster-down:  ## stop the local test cluster
	tests/cluster/cluster.sh down

lint: setup  ## ansible-lint (production profile)
	ansible-lint

sanity: setup  ## ansible-test sanity
	tests/sanity/run.sh

# Standard library + PyYAML only: the venv's Python, or any python3 with PyYAML.
docs:  ## write the variable tables of the role READMEs and USER_GUIDE from the argument specs
	$(if $(wildcard $(BIN)/python),$(BIN)/python,python3) docs/generate.py

# Two workers (pytest-xdist), each running whole test files (--dist loadfile: a file's tests may tell one story in
# order), share one test cluster: started here when none answers, and then stopped after. The 30 slowest tests are
# listed at the end: CI must stay well under 45 minutes.
pytest: setup tools
	@if tests/cluster/cluster.sh status >/dev/null 2>&1; then started=; else $(MAKE) --no-print-directory cluster-up || exit 1; started=1; fi; \
	$(BIN)/python -m pytest tests -n 2 --dist loadfile --durations=30; rc=$$?; \
	if [ -n "$$started" ]; then $(MAKE) --no-print-directory cluster-down; fi; exit $$rc

test: lint sanity pytest  ## everything CI runs

golden: setup  ## regenerate tests/render/golden/ after an intended change of a manifest (review the diff)
	CSC_MLFLOW_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/render/test_golden.py -q

# A new MLflow release (docs/MAINTAINING.md): refused, nothing changed, unless ghcr.io/mlflow/mlflow:v$(VERSION)-full is
# published and mlflow==$(VERSION) installs here; then the version everywhere it is the default, the image record,
# images/mlflow/requirements.txt, `make docs`, `make golden`, and the checks. ARGS: --dry-run, --skip-checks.
mlflow-release: setup  ## move the default MLflow to VERSION=X.Y.Z (ARGS=--dry-run|--skip-checks)
	@if [ -z "$(VERSION)" ]; then echo "usage: make mlflow-release VERSION=X.Y.Z [ARGS=--dry-run]" >&2; exit 2; fi
	$(BIN)/python images/mlflow_release.py "$(VERSION)" $(ARGS)

demo: setup tools  ## local cluster + deploy.yml + a running MLflow on localhost
	tests/demo/demo.sh up

demo-down:  ## stop everything `make demo` started
	tests/demo/demo.sh down

bench: setup tools  ## print performance figures (see docs/PERFORMANCE.md)
	tests/bench/run.sh

clean: cluster-down  ## remove local state (not the cache)
	rm -rf .cluster .demo .pytest_cache tests/output

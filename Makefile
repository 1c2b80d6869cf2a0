# opsdata: the one entry point. `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OPSDATA := $(BIN)/opsdata
# template.yaml's offline validators, in their own venv (see requirements-template.txt)
TEMPLATE_VENV := .local/template-venv
# The real Supabase CLI (npm package), for the compatibility tests and for deploying
SUPABASE_CLI_VERSION := 2.117.0
SUPABASE_CLI_DIR := .local/supabase-cli
SUPABASE := $(SUPABASE_CLI_DIR)/node_modules/.bin/supabase

.PHONY: help deps system-deps supabase-cli db-up demo test test-python test-sql lint bench serve clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system-deps:  ## apt packages the embedded cluster needs (only the missing ones)
	@bash infra/local/install-system-deps.sh

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml $(wildcard functions/requirements/*.txt)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@# phonenumberslite replaced phonenumbers (same import name): remove it before installing the lite one
	@$(BIN)/python -m pip uninstall -q -y phonenumbers 2>/dev/null || true
	@$(BIN)/python -m pip install -q -r requirements-dev.txt
	@$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

$(TEMPLATE_VENV)/.installed: requirements-template.txt
	@test -x $(TEMPLATE_VENV)/bin/python || $(PYTHON) -m venv $(TEMPLATE_VENV)
	@$(TEMPLATE_VENV)/bin/python -m pip install -q -r requirements-template.txt
	@touch $@

$(SUPABASE_CLI_DIR)/.installed-$(SUPABASE_CLI_VERSION): | system-deps
	@mkdir -p $(SUPABASE_CLI_DIR)
	@cd $(SUPABASE_CLI_DIR) && npm install --save-exact --no-audit --no-fund --loglevel=error \
		supabase@$(SUPABASE_CLI_VERSION) >/dev/null
	@$(SUPABASE) --version >/dev/null
	@touch $@

supabase-cli: $(SUPABASE_CLI_DIR)/.installed-$(SUPABASE_CLI_VERSION)  ## the Supabase CLI in .local/supabase-cli

deps: system-deps $(VENV)/.installed $(TEMPLATE_VENV)/.installed supabase-cli  ## system packages, virtualenvs, Supabase CLI

db-up: deps  ## start the embedded cluster and migrate it
	@$(OPSDATA) db up
	@$(OPSDATA) db migrate

demo: db-up  ## a realistic demo shop in the local database, with a summary
	@$(OPSDATA) demo

test: db-up  ## everything CI runs: pytest (coverage >= 80%) and pgTAP
	@$(MAKE) --no-print-directory test-python test-sql

test-python: deps
	@$(BIN)/python -m pytest

test-sql: deps
	@$(OPSDATA) db test

lint: deps  ## ruff, and template.yaml validated offline
	@$(BIN)/ruff check functions tests infra
	@$(BIN)/ruff format --check functions tests infra
	@$(TEMPLATE_VENV)/bin/python infra/validate_template.py template.yaml

serve: db-up  ## the HTTP API on http://127.0.0.1:8000
	@$(OPSDATA) serve

bench: db-up  ## benchmarks, printed as a table
	@$(BIN)/python -m tests.bench

clean:  ## stop the cluster and remove local state (venv, cluster data)
	-@test -x $(OPSDATA) && $(OPSDATA) db down
	rm -rf $(VENV) .local .pytest_cache .ruff_cache .coverage*

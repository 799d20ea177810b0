# Two commands for a newcomer: `make up` and `make test`. Everything else is for developers.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up down test test-unit test-integration check fmt install system-deps clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: system-deps $(STAMP)

# Prometheus, Alertmanager and node_exporter come from Debian; installing them does not start them.
system-deps:
	@bash .ci/system-deps

up: install
	$(VENV)/bin/continuum up

down:
	$(VENV)/bin/continuum down

test: install
	$(VENV)/bin/pytest -q

test-unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not integration"

test-integration: install
	$(VENV)/bin/pytest -q -m integration

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

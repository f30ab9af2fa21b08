# Every target sets up what it needs: a fresh clone runs `make local` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv test lint unit

# The virtualenv, reinstalled whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check components tests
	$(BIN)/ruff format --check components tests
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest tests/unit

# What CI runs: lint, then the whole test ladder.
test: lint
	$(BIN)/pytest

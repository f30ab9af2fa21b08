# Every target sets up what it needs: a fresh clone runs `make local` or `make test` directly.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLCHAIN_CACHE ?= $(HOME)/.cache/aion-factory/toolchain
TOOLS_CACHE ?= $(HOME)/.cache/aion-factory/tools
ACTIONLINT_VERSION := 1.7.12
ACTIONLINT := $(TOOLS_CACHE)/actionlint/$(ACTIONLINT_VERSION)/actionlint
# Python outside components/ and tests/: the policy pack, the plugin package, the consumer example, CI scripts.
EXTRA_PY := policy provider examples/consumer scripts

.PHONY: venv toolchain lint lint-workflows unit test local local-down kind-up kind-down plan

# The virtualenv, reinstalled whenever pyproject.toml or constraints.txt changes; constraints.txt
# pins what the toolchain needs exactly (the kubernetes provider plugin's version).
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Pulumi CLI, kubernetes plugin, etcd, kube-*, kwok: from PATH, the cache, or built (slow once).
toolchain:
	scripts/bootstrap-toolchain.sh

# mypy cannot follow the editable install's aion_factory -> components/ mapping; a link in build/ can.
lint: venv lint-workflows
	$(BIN)/ruff check components tests bench $(EXTRA_PY)
	$(BIN)/ruff format --check components tests bench $(EXTRA_PY)
	$(BIN)/mypy
	mkdir -p build/mypy-path && ln -sfn ../../components build/mypy-path/aion_factory
	MYPYPATH=build/mypy-path $(BIN)/mypy --strict policy/aion_policy provider/aion_provider examples/consumer
	$(BIN)/lint-imports

# actionlint is a Go module: pinned, built once into the tools cache, never into the repo.
$(ACTIONLINT):
	GOBIN=$(dir $@) GOTOOLCHAIN=local go install github.com/rhysd/actionlint/cmd/actionlint@v$(ACTIONLINT_VERSION)

lint-workflows: $(ACTIONLINT)
	$(ACTIONLINT)

# Rungs 1 and 2 only: seconds, no toolchain needed.
unit: venv
	$(BIN)/pytest tests/unit tests/mocks

# What CI runs: lint, then the whole test ladder, the engine rung included, with the coverage floor.
COVERAGE_FLOOR := 85
test: lint toolchain
	AION_ENGINE_TESTS=1 $(BIN)/pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# The main job: a local control plane, `pulumi up --stack local`, and what it deployed.
local:
	scripts/local-up.sh

local-down:
	scripts/local-down.sh

# With Docker (not on this machine): the same stack on a kind cluster.
kind-up: venv
	scripts/kind-up.sh

kind-down:
	scripts/kind-down.sh

plan: venv
	$(BIN)/aion plan stacks/Pulumi.local.yaml

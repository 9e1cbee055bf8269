# Everything runs from the project's own virtualenv, created on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PACKAGES := domain commands projections queries infra
PYTEST_ARGS ?=

.PHONY: venv run test test-embedded lint fmt

venv: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

run: venv
	$(BIN)/orderledger dev

test: venv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The tests that also hold on the embedded PostgreSQL (DATABASE_URL unset).
test-embedded: venv
	env -u DATABASE_URL $(BIN)/python -m pytest -q -m embedded_ok $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/ruff format --check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES) tests
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff check --fix $(PACKAGES) tests
	$(BIN)/ruff format $(PACKAGES) tests

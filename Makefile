# Everything runs from the project's own virtualenv, created on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PACKAGES := domain commands projections queries infra
PYTEST_ARGS ?=

.PHONY: bench-scale
.PHONY: venv run test test-embedded lint fmt bench-capture bench-audit bench-projections bench bench-write bench-http bench-reads bench-lag bench-growth bench-reconcile

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

# The domain and use-case tests over in-memory fakes: no database, no network, seconds.
.PHONY: test-unit
test-unit: venv
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

# The tests that also hold on the embedded PostgreSQL (DATABASE_URL unset).
test-embedded: venv
	env -u DATABASE_URL $(BIN)/python -m pytest -q -m embedded_ok $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench
	$(BIN)/mypy $(PACKAGES) tests bench
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff check --fix $(PACKAGES) tests bench
	$(BIN)/ruff format $(PACKAGES) tests bench

# Capture delay (due time -> recorded capture), with and without Redis; see bench/capture.py.
bench-capture: venv
	$(BIN)/python -m bench.capture

# audit verify over a generated store of 200k+ events beside the raw decode rate; see bench/audit.py.
bench-audit: venv
	$(BIN)/python -m bench.audit

# Rebuild of every view vs the library's stock ProjectionRunner and the raw decode rate,
# in a throwaway database orderledger_bench on DATABASE_URL's server; see bench/projections.py.
bench-projections: venv
	$(BIN)/python -m bench.projections

# Every benchmark below and above, one after the other, in one table; writes bench/results.json
# (the figures, each beside its baseline from the same run). See bench/all.py.
bench: venv
	$(BIN)/python -m bench.all

# Orders/s through the place-order use case vs the library's bare save() of the same events.
bench-write: venv
	$(BIN)/python -m bench.write_path

# POST /store/carts/{id}/complete against `orderledger serve` (Stripe stand-in) vs bare FastAPI.
bench-http: venv
	$(BIN)/python -m bench.http_checkout

# Checkout's catalog cache: commit of a price change -> cache dropped (NOTIFY); see bench/catalog_staleness.py.
.PHONY: bench-staleness
bench-staleness: venv
	$(BIN)/python -m bench.catalog_staleness

# Storefront GETs (product, order by PaymentIntent) vs a bare FastAPI JSON endpoint.
bench-reads: venv
	$(BIN)/python -m bench.reads

# Commit -> visible in the storefront view at 100 orders/s, vs the library's ProjectionRunner.
bench-lag: venv
	$(BIN)/python -m bench.lag

# Write path, order load, rebuild and audit verify at 10^4, 10^5 and 10^6 events.
bench-growth: venv
	$(BIN)/python -m bench.growth

# The console's pages: statements per page and latency beside the JSON API; see bench/console.py.
.PHONY: bench-console console-screenshots
bench-console: venv
	$(BIN)/python -m bench.console

# The README's console screenshots, taken again by the browser tests (needs chromium).
console-screenshots: venv
	CONSOLE_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/e2e/test_console_browser.py
# reconcile over 10,000 captured orders against the fault suite's Stripe stand-in, beside
# the stand-in's own list rate; see bench/reconcile.py.
bench-reconcile: venv
	$(BIN)/python -m bench.reconcile

# Personal data sealed (and the library's whole-store cipher) beside plain: checkout and a
# view rebuild in the same run; see bench/pii.py.
.PHONY: bench-pii
bench-pii: venv
	$(BIN)/python -m bench.pii
# A shop's life under faults, checked by the oracle after every phase (tests/simulation/).
# SEED= (default: a fresh one), OPERATIONS= or MINUTES= (default: 300 operations).
.PHONY: simulate
SEED ?=
OPERATIONS ?=
MINUTES ?=
simulate: venv
	$(BIN)/python -m tests.simulation $(if $(SEED),--seed $(SEED)) $(if $(OPERATIONS),--operations $(OPERATIONS)) $(if $(MINUTES),--minutes $(MINUTES))
# Storefront reads on the primary alone vs with a streaming standby, checkout with one vs
# two API processes (a throwaway primary + standby from pg_config --bindir); see bench/scale.py.
bench-scale: venv
	$(BIN)/python -m bench.scale

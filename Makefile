# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench chromium serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-installs whenever pyproject.toml changes.
$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	touch $@

# The suite runs `make bench` at toy size, so it installs the benchmarks' extra too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test,bench]'
	touch $@ $(VENV)/.installed-runtime

## run: install, migrate the SQLite database, load studies, create demo logins, serve on :5000
run: $(VENV)/.installed-runtime
	$(BIN)/alembic upgrade head
	$(FLASK) studies load
	$(FLASK) demo
	APP_ENV=development SCHEDULER_ENABLED=1 $(FLASK) run --host 127.0.0.1 --port 5000

## test: install what the tests need (Chromium too) and run lint and the whole suite
test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/pytest

## bench: generate a 100,000-participant network on the local PostgreSQL, run every
## benchmark against its baseline, write docs/benchmarks.md (BENCH_ARGS: e.g. --reuse)
bench: $(VENV)/.installed-test
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is down; starting it"; \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Debian's Chromium drives the browser tests; Playwright's own download does not work here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts

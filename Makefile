# The verbs a newcomer looks for. Each installs what it needs first (venv, Python packages from
# uv.lock, Debian packages), so `make run` and `make test` work on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
DEMO_PASSWORD_FILE := .demo-admin-password

.PHONY: bench run serve test lint fmt typecheck migrations-check check install install-test-packages

$(BIN)/python:
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || scripts/ensure-debian-packages python3-venv
	@$(PYTHON) -m venv $(VENV) || { scripts/ensure-debian-packages python3-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

$(VENV)/.synced: $(BIN)/python pyproject.toml uv.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode
	@touch $@

# The `bench` dependency group (stock django-scim2, the benchmark's reference): `make bench` only.
$(VENV)/.synced-bench: $(VENV)/.synced
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet --group bench --compile-bytecode
	@touch $@

install: $(VENV)/.synced
	@scripts/ensure-debian-packages xmlsec1

install-test-packages: install
	@scripts/ensure-debian-packages postgresql redis-server chromium

run: install
	@test -s $(DEMO_PASSWORD_FILE) || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(12))" > $(DEMO_PASSWORD_FILE)
	@export DEBUG=true; \
	$(BIN)/python manage.py migrate --verbosity 0 && \
	$(BIN)/python manage.py createcachetable && \
	$(BIN)/python manage.py seed_demo --admin-password "$$(cat $(DEMO_PASSWORD_FILE))" && \
	echo "Serving on http://127.0.0.1:8000 — press Ctrl-C to stop." && \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The production topology (Procfile: gunicorn, celery worker, celery beat) on PostgreSQL + Redis;
# throwaway servers when DATABASE_URL / REDIS_URL are unset. Ctrl-C stops everything.
serve: install-test-packages
	@scripts/with-services scripts/serve

test: install-test-packages
	@THROWAWAY_DB_FAST=1 scripts/with-services $(BIN)/pytest $(PYTEST_ARGS)

# The benchmark suite (benchmarks/run.py): one table of medians. Sizes: BENCH_USERS (1000),
# BENCH_REPEAT (3), BENCH_STEADY_USERS (200), BENCH_LOGINS (100), BENCH_APPROVALS (1000; 0: off),
# BENCH_BIG_USERS (0: off; 100000 adds the listing/filter/steady-state runs at that population,
# bulk-inserted), BENCH_ONLY (saml: only the SAML sign-in storm and its references). Installs the
# `bench` dependency group (stock django-scim2, measured beside ours).
bench: install-test-packages $(VENV)/.synced-bench
	@BENCH_USERS="$(BENCH_USERS)" BENCH_REPEAT="$(BENCH_REPEAT)" BENCH_STEADY_USERS="$(BENCH_STEADY_USERS)" \
	BENCH_LOGINS="$(BENCH_LOGINS)" BENCH_APPROVALS="$(BENCH_APPROVALS)" BENCH_BIG_USERS="$(BENCH_BIG_USERS)" \
	BENCH_ONLY="$(BENCH_ONLY)" \
	THROWAWAY_DB_FAST=1 scripts/with-services scripts/bench

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports

fmt: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

typecheck: install
	@DEBUG=true $(BIN)/mypy .

migrations-check: install
	@$(BIN)/python manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check test

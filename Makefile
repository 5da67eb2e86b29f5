# Two commands for a new user: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
# Project-local services unless DATABASE_URL / REDIS_URL are set (scripts/services.sh).
export LOCAL_PG_PORT ?= 55432
export LOCAL_REDIS_PORT ?= 56379

.PHONY: run test lint bench deps services stop migrate demo fmt

deps:
	@scripts/deps.sh

services: deps
	@scripts/services.sh start

migrate: services
	@$(PY) manage.py migrate --noinput -v 0

demo: migrate
	@$(PY) manage.py demo_town --if-empty

run: demo
	@scripts/run.sh

lint: deps
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

fmt: deps
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

test: services lint
	@mkdir -p tests/artifacts
	@.venv/bin/pytest -n $${TEST_WORKERS:-2} --dist loadgroup -q $(PYTEST_ARGS)

bench: migrate
	@$(PY) -m bench $(BENCH_ARGS)

stop:
	@scripts/services.sh stop

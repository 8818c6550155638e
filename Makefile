# Every target builds the project's own environment in .venv/ first, from the committed lock file.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo demo-ui test lint format manifest dev bench clean postgres

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

manifest: $(STAMP)
	$(BIN)/dagster-dbt project prepare-and-package --file boardsync_dagster/dbt_project.py >/dev/null

demo: manifest
	$(BIN)/boardsync demo

demo-ui: manifest
	$(BIN)/boardsync demo --ui

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The Debian PostgreSQL server the production tests start in a temp dir (installed when missing).
postgres:
	.ci/install-postgres

test: manifest lint postgres
	$(BIN)/python -m pytest

dev: manifest
	mkdir -p .dagster_home
	cp -n deploy/local/dagster.yaml .dagster_home/dagster.yaml || true
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000

bench: manifest
	$(BIN)/boardsync bench

clean:
	rm -rf $(VENV) dbt_project/target data .dagster_home

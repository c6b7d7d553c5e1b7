# Thin aliases used by humans and CI. `make run` and `make test` work on a fresh machine that has
# python3 (3.11+) and network access to PyPI.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pggit-installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Development fallbacks for the secrets unless the environment says otherwise (see .env.example).
DJANGO_DEBUG ?= 1
export DJANGO_DEBUG

.PHONY: install run test lint format schema schema-check bench migrate superuser lock clean worker

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv sync --frozen --inexact --extra dev --python $(BIN)/python
	touch $(STAMP)

run: install
	$(BIN)/python manage.py serve --bind $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/python manage.py spectacular --validate --file docs/openapi.yaml

schema-check: install
	$(BIN)/python -m pytest tests/test_openapi.py

bench: install
	$(BIN)/python bench/run.py

worker: install
	$(BIN)/python manage.py deliver_webhooks

migrate: install
	$(BIN)/python manage.py migrate

superuser: install
	$(BIN)/python manage.py createsuperuser

lock:
	$(BIN)/uv lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The commands the README shows. `make run` and `make test` set everything up on a fresh
# machine that has Python >= 3.11 and reaches the package registry.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

CHROMIUM := /usr/bin/chromium

.PHONY: help install run test lint format schemas openapi bench clean chromium

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## create .venv and install the project with its dev tools

run: $(STAMP)  ## start everything on embedded engines, with a demo project and simulator
	$(BIN)/switchboard up --demo

test: lint chromium  ## lint, then the whole suite on real PostgreSQL, NATS and chDB
	$(BIN)/pytest

chromium:  ## Debian's chromium for the monitor's browser test (apt-get, as root, if missing)
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser test"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "warning: the browser test needs $(CHROMIUM): sudo apt-get install chromium" >&2; \
	  fi; }

lint: $(STAMP)  ## ruff, formatting, mypy --strict and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: $(STAMP)  ## regenerate schemas/events/*.json from the event classes
	$(BIN)/python -m ops.schemas

openapi: $(STAMP)  ## export schemas/openapi.json from the app
	$(BIN)/python -m ops.openapi

bench: $(STAMP)  ## run ops/bench and write ops/bench/RESULTS.md
	$(BIN)/python -m ops.bench

clean:  ## remove local data and caches (keeps .venv)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis

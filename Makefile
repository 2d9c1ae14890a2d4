# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# `make run` installs what the service needs; `make test` adds the test tools.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test lint bench translations services clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: install
	$(BIN)/huiying run

services:
	bash tests/services.sh

# Parallel runs on one server each give their own names, e.g.
# `make test HUIYING_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/huiying_dash_me
#  HUIYING_TEST_REDIS_URL=redis://127.0.0.1:6379/3` (the database and `<name>_template` are made).
HUIYING_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/huiying_dash_test
HUIYING_TEST_REDIS_URL    ?= redis://127.0.0.1:6379/13
export HUIYING_TEST_DATABASE_URL HUIYING_TEST_REDIS_URL

test: install-test services
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check .

# Message ids are the Chinese texts; the English catalog is dashboard/translations/en/….po.
# New strings arrive untranslated (or fuzzy): fill them in; tests/dashboard/test_i18n.py checks.
translations: install-test
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-wrap --project=Huiying \
		-o dashboard/translations/messages.pot .
	$(BIN)/pybabel update -i dashboard/translations/messages.pot -d dashboard/translations --no-wrap
	$(BIN)/pybabel compile -d dashboard/translations --statistics

bench: install
	@for suite in analysis crawl; do $(BIN)/huiying bench $$suite --json || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

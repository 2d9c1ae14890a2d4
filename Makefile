# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# `make run` installs what the service needs; `make test` adds the test tools.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test lint bench translations services vendor clean

# ECharts for the overview's charts, from its npm package at install time (never committed,
# never from a CDN: intranets often cannot reach one). Pinned: version and file checksum.
ECHARTS_VERSION := 5.6.0
ECHARTS_SHA256  := bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1
ECHARTS_DIR     := dashboard/static/vendor/echarts
ECHARTS_JS      := $(ECHARTS_DIR)/echarts.min.js

# uv installs the same releases from PyPI as pip in a sixth of the time (10 s against 60 s
# for the test tools on a fresh clone). It reads no pip.conf: a site whose PyPI mirror is set
# there gives UV_INDEX_URL, or installs with pip: `make install PIP="$(BIN)/python -m pip"`.
# Bytecode compiled at install, as pip does: a third-party module compiled at first import under
# the test run's `filterwarnings = error` fails on its own SyntaxWarnings (jieba's regexes).
PIP ?= $(BIN)/python -m uv pip
PIP_ENV := VIRTUAL_ENV=$(abspath $(VENV)) UV_COMPILE_BYTECODE=1

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP_ENV) $(PIP) install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP_ENV) $(PIP) install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) vendor

install-test: $(TEST_STAMP) vendor

# Without npm or the registry the dashboard still works (tables instead of charts): warn only.
vendor:
	@test -f $(ECHARTS_JS) || $(MAKE) --no-print-directory $(ECHARTS_JS) || \
		echo "warning: ECharts $(ECHARTS_VERSION) not installed (needs npm and its registry);" \
		     "the overview shows tables instead of charts until 'make install' succeeds." >&2

$(ECHARTS_JS):
	@command -v npm >/dev/null || { echo "npm is not installed (apt-get install npm)" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm pack --silent --pack-destination "$$tmp" echarts@$(ECHARTS_VERSION) >/dev/null && \
	tar -xzf "$$tmp/echarts-$(ECHARTS_VERSION).tgz" -C "$$tmp" \
		package/dist/echarts.min.js package/LICENSE package/NOTICE && \
	echo "$(ECHARTS_SHA256)  $$tmp/package/dist/echarts.min.js" | sha256sum --check --quiet && \
	mkdir -p $(ECHARTS_DIR) && cp "$$tmp/package/LICENSE" "$$tmp/package/NOTICE" $(ECHARTS_DIR)/ && \
	cp "$$tmp/package/dist/echarts.min.js" $@ && \
	echo "ECharts $(ECHARTS_VERSION) installed into $(ECHARTS_DIR)"

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

# services first: it installs npm where missing, which `make vendor` (in install-test) needs.
# Three pytest-xdist workers on this kind of 2-core machine: the end-to-end tests spend much of
# their time waiting on child processes (pytest on a warm checkout, 2026-12-03: 2 workers 523 s,
# 3 workers 471 s, 4 workers 511 s). Each has its own database name and Redis DB number
# (tests/conftest.py). TEST_WORKERS=0 runs in one process. `worksteal`: a worker that runs out
# takes half of another's queue, so none ends long after the others (with `load`, the run
# waited 100 s on one worker's share of the end-to-end tests).
TEST_WORKERS ?= 3

# The run writes bytecode even where PYTHONDONTWRITEBYTECODE is set (container images often set
# it): otherwise each of the run's few hundred `python -m huiying` child processes compiles the
# project's modules again, and pytest rewrites every test module's asserts anew on each run.
# The caches go to __pycache__ folders, which git ignores.
test: services install-test
	$(BIN)/ruff check .
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

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
	@for suite in analysis crawl dashboard pipeline; do $(BIN)/huiying bench $$suite --json || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache $(ECHARTS_DIR)

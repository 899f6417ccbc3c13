# Two commands: `make run` and `make test`. Everything they need is installed
# into .venv (Python) and node_modules (Microsoft's local Teams tools).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install-run install-test clean

# uv installs the same packages from PyPI as pip (a mirror is set with UV_INDEX_URL; uv does not read
# pip's configuration), in seconds rather than a minute; it compiles them as pip does, so that every
# process starts from bytecode even where writing it is switched off.
UV_VERSION := 0.13.8
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Its own target, so that a .venv made before uv was used gets it too.
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

$(VENV)/.run-deps: pyproject.toml | $(BIN)/uv
	$(UV) -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/uv
	$(UV) -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The tab pages are checked in Debian's Chromium (never a browser downloaded by a test tool).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "Install Debian's chromium first: sudo apt-get install chromium" >&2; exit 1; fi

install-run: $(VENV)/.run-deps node_modules/.installed
install-test: $(VENV)/.test-deps node_modules/.installed $(CHROMIUM)

## run: install, migrate the SQLite database, seed the demo, start the bot and the Agents Playground
run: install-run
	$(BIN)/kambot dev

## test: install what the tests need, check the types, and run every test
test: install-test
	$(BIN)/python -m mypy
	# Four processes (most tests wait on servers, not the CPU); a module's tests stay in one, with its fixtures.
	$(BIN)/python -m pytest -n 4 --dist loadfile

clean:
	rm -rf $(VENV) node_modules var test-artifacts .pytest_cache .hypothesis

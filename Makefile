# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PODS ?= 2000

.PHONY: setup controlplane lint test test-unit demo cluster-up cluster-down bench soak clean dist

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "kdash needs Python >= 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) controlplane

# Installs the Debian packages and builds (or reuses from ~/.cache/kdash) the control-plane binaries.
controlplane:
	bash devcluster/build.sh >/dev/null

# Style, types and the import contracts of docs/architecture.md; `make test` runs it first.
lint: $(STAMP)
	$(VENV)/bin/ruff check kdash tests bench devcluster
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# The whole-app state machine (tests/ui/test_stateful_app.py) with many more, shrunk, examples.
STATEFUL_EXAMPLES ?= 100
.PHONY: stateful
stateful: $(STAMP)
	KDASH_STATEFUL_EXAMPLES=$(STATEFUL_EXAMPLES) $(PY) -m pytest tests/ui/test_stateful_app.py -p no:timeout $(PYTEST_ARGS)

cluster-up: setup
	@$(PY) -m devcluster up

cluster-down: $(STAMP)
	@$(PY) -m devcluster down

demo: setup
	@eval "$$($(PY) -m devcluster up --samples | tail -n 1)" && $(VENV)/bin/kdash

bench: setup
	$(PY) -m bench --pods $(PODS)

# A long session (default 60 min) under churn, sampled every 10 s; budgets printed at the end,
# bench/results/soak-*.json and a plot (.png) written. The plot needs the `soak` extra (matplotlib);
# the control plane's binaries are built or reused by devcluster itself when it starts.
MINUTES ?= 60
SOAK_STAMP := $(VENV)/.soak-installed
$(SOAK_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,soak]'
	touch $(SOAK_STAMP)

soak: $(SOAK_STAMP)
	$(PY) -m bench.soak --minutes $(MINUTES) --pods $(PODS)

# An sdist and a wheel in $(DIST); the wheel from the sdist, so a file missing from it fails here.
# The checkout's commit is baked into the package for `kdash --version`.
DIST ?= dist
dist: $(STAMP)
	@git rev-parse --short=12 HEAD > kdash/_commit.txt 2>/dev/null || rm -f kdash/_commit.txt
	$(PY) -m build --outdir $(DIST) . > $(DIST).log 2>&1 || { rc=$$?; cat $(DIST).log; rm -f kdash/_commit.txt; exit $$rc; }
	@rm -f kdash/_commit.txt $(DIST).log
	@ls $(DIST)

clean:
	rm -rf $(VENV) .pytest_cache dist

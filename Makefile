# Two commands: `make run` serves the example code location, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run run-dg test test-floor lint docs venv venv-floor clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The floor venv: the oldest Dagster release the package supports (1.12.0, with its webserver,
# GraphQL and dg libraries: requirements-floor.lock) on the oldest Python it supports (3.10),
# where `make test` runs the tests marked `floor` a second time (docs/dagster-releases.md).
# pyenv's `python3.10` shim fails when 3.10 is not pyenv's selected version, so each candidate
# is run, and the first that is a working 3.10 is taken; with none, the main Python is used.
FLOOR_VENV := .venv-floor
FLOOR_BIN := $(FLOOR_VENV)/bin
FLOOR_STAMP := $(FLOOR_VENV)/.installed
FLOOR_PYTHON ?= $(shell for p in python3.10 "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { command -v "$$p"; break; }; done)
# The test files that hold tests marked `floor` (only those are collected there: the others may
# import what the floor venv does not hold, such as Playwright).
FLOOR_TESTS = $(shell grep -l 'pytest\.mark\.floor' tests/test_*.py)

venv-floor: $(FLOOR_STAMP)

$(FLOOR_STAMP): pyproject.toml requirements-floor.lock
	@test -n "$(FLOOR_PYTHON)" || echo "note: no Python 3.10 found; the floor venv uses $(PYTHON) instead"
	test -x $(FLOOR_BIN)/python || $(or $(FLOOR_PYTHON),$(PYTHON)) -m venv $(FLOOR_VENV)
	$(FLOOR_BIN)/python -m pip install --quiet --upgrade pip
	$(FLOOR_BIN)/python -m pip install --quiet -r requirements-floor.lock
	$(FLOOR_BIN)/python -m pip install --quiet --no-deps -e .
	touch $(FLOOR_STAMP)

run: $(STAMP)
	mkdir -p .dagster_home
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# The example dg project (examples/dg_project/, two NexusJobsComponents), served the same way.
# It is not installed: it is imported from its src/ folder.
run-dg: $(STAMP)
	mkdir -p .dagster_home
	cd examples/dg_project && PYTHONPATH=src DAGSTER_HOME=$(CURDIR)/.dagster_home \
		$(CURDIR)/$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m nexus_example.definitions -d src

# pytest exits 5 when it collects no test; that must fail, so it is left as it is. The tests
# run over both cores (a module whose expensive fixture must start once is one xdist group; the
# longest modules start first, in tests/conftest.py's order, which xdist keeps) and in a
# shuffled order (pytest-randomly prints the seed; `--randomly-seed=N` repeats one order).
# `make test PYTEST_WORKERS=` runs them in one process.
PYTEST_WORKERS ?= -n 2 --dist loadgroup --no-loadscope-reorder

# After every test on the release of requirements.lock, the tests marked `floor` run again in
# the floor venv, on both cores (each module's expensive fixture still starts once).
FLOOR_PYTEST = $(FLOOR_BIN)/python -m pytest -q -m floor -n 2 --dist loadgroup --durations=5 $(FLOOR_TESTS)

test: $(STAMP) $(FLOOR_STAMP)
	$(BIN)/ruff check nexus_dagster tests definitions.py examples
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir .site
	$(BIN)/pytest -q $(PYTEST_WORKERS) --durations=15
	$(FLOOR_PYTEST)

# The tests marked `floor` alone, on Dagster 1.12.0 and Python 3.10.
test-floor: $(FLOOR_STAMP)
	$(FLOOR_PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check nexus_dagster tests definitions.py examples
	$(BIN)/ruff format --check nexus_dagster tests definitions.py examples

# The manual (docs/, mkdocs.yml) on http://127.0.0.1:8000, rebuilt on every edit.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8000

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .cache/install-bases .dagster_home .site

# Benchmarks against plain Dagster doing the same work, about 20 minutes on 2 cores; the figures
# and how to read them are in docs/benchmarks.md. (`bench/` is a folder: the target is phony.)
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/asset_graph.py
	$(BIN)/python bench/typed.py
	$(BIN)/python bench/asset_page.py

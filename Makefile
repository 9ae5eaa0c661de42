# Two commands: `make run` serves the example code location, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run run-dg test lint docs venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

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

test: $(STAMP)
	$(BIN)/ruff check nexus_dagster tests definitions.py examples
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir .site
	$(BIN)/pytest -q $(PYTEST_WORKERS) --durations=15

lint: $(STAMP)
	$(BIN)/ruff check nexus_dagster tests definitions.py examples
	$(BIN)/ruff format --check nexus_dagster tests definitions.py examples

# The manual (docs/, mkdocs.yml) on http://127.0.0.1:8000, rebuilt on every edit.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8000

clean:
	rm -rf $(VENV) .dagster_home .site

# Benchmarks against plain Dagster doing the same work, about 20 minutes on 2 cores; the figures
# and how to read them are in docs/benchmarks.md. (`bench/` is a folder: the target is phony.)
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/asset_graph.py

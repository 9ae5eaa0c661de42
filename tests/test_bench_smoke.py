"""The benchmark's cheap version (5 specs, 200 assets, one repetition), so that `make bench`
keeps working; it asserts that the benchmark runs and prints its tables, not any figure."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from nexus_dagster import NexusSpecError, load_job_specs
from tests.conftest import write_specs

REPO = Path(__file__).resolve().parent.parent

HEADINGS = [
    "### 1. Code-location load at N = 5",
    "### 2. One run of a 20-asset job",
    "### 3. Validate 6 specs",
    "### 4. Peak memory of the loaded location",
    "### How load grows with N",
]


def test_bench_smoke_runs_and_prints_every_table(tmp_path: Path) -> None:
    raw = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--json", str(raw)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in HEADINGS:
        assert heading in done.stdout
    assert "| **load** (import + resolve) |" in done.stdout
    assert "| 5 | 7 |" in done.stdout  # the growth table's row: 5 specs, 7 jobs (with the run job)
    results = json.loads(raw.read_text())
    assert results["run"]["materialized"] == {"nexus": 20, "plain": 20}
    assert results["validate"]["spec_count"] == 6


def test_importing_the_package_leaves_the_editing_api_unloaded() -> None:
    # Every code-server load and every step process imports nexus_dagster; ruamel.yaml (for
    # spec edits only) would cost each of them about a tenth of a second.
    code = "import sys, nexus_dagster; print('ruamel.yaml' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_loading_specs_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    # Spec loading pauses the collector for speed; it must resume it, errors or not, and must
    # not turn on a collector the caller had turned off.
    good = write_specs(tmp_path / "good", {"a.yaml": "selection: [x]\n"})
    bad = write_specs(tmp_path / "bad", {"a.yaml": "selection: [x]\nnope: 1\n"})
    assert gc.isenabled()
    load_job_specs(good)
    assert gc.isenabled()
    try:
        load_job_specs(bad)
    except NexusSpecError:
        pass
    else:
        raise AssertionError("an unknown key must be refused")
    assert gc.isenabled()
    gc.disable()
    try:
        load_job_specs(good)
        assert not gc.isenabled()
    finally:
        gc.enable()

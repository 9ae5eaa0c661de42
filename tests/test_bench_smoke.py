"""The benchmark's cheap version (5 specs, 100 assets, one repetition, with the partitioned
twins), so that `make bench` keeps working; it asserts that the benchmark runs and prints its
tables, not any figure."""

from __future__ import annotations

import datetime
import gc
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest

from nexus_dagster import NexusSpecError, load_job_specs
from tests.conftest import write_specs

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
TIMEOUT = 180.0  # for the benchmark's smoke run (some 25 s of CPU)
SMOKE_ASSETS = 100  # the asset count of `run.py --smoke`: the twins compared are those it measures

HEADINGS = [
    "### The targets: every figure, nexus against plain",
    "### 6. A step process's start at N = 5",
    "### 1. Code-location load at N = 5",
    "### 2. One run of a 20-asset job",
    "### 3. Validate 6 specs",
    "### 4. Peak memory of the loaded location",
    "### How load grows with N",
    "### 5. Partitioned jobs: every asset daily-partitioned, N = 5 (7 jobs, 5 schedules",
]


def test_bench_smoke_runs_and_prints_every_table(tmp_path: Path) -> None:
    raw = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--json", str(raw)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in HEADINGS:
        assert heading in done.stdout
    assert "| **load** (import + resolve) |" in done.stdout
    assert "| 5 | 7 |" in done.stdout  # the growth table's row: 5 specs, 7 jobs (with the run job)
    results = json.loads(raw.read_text())
    assert results["run"]["materialized"] == {"nexus": 20, "plain": 20}
    assert results["validate"]["spec_count"] == 6
    # The multiprocess runs ran every step of the job, each in a process of its own.
    for mprun in (results["mprun"], results["partitioned"]["mprun"]):
        assert mprun["steps"] == mprun["plain_steps"] >= 4
        assert mprun["step_processes"] == {"nexus": mprun["steps"], "plain": mprun["steps"]}
    assert results["step"]["5"]["nexus_cold"]["step"] > 0
    # The partitioned twins: both loaded, and the run executed one partition of each.
    partitioned = results["partitioned"]
    assert partitioned["load"]["5"]["nexus"]["jobs"] == partitioned["load"]["5"]["plain"]["jobs"]
    assert "| **run** of the 20-asset job for one partition (s) |" in done.stdout
    run = partitioned["run"]
    assert run["materialized"] == {"nexus": 20, "plain": 20}
    assert run["partitions"] == {"nexus": [run["partition_key"]], "plain": [run["partition_key"]]}


def bench_module(name: str) -> ModuleType:
    """``bench/NAME.py``, imported under a name of its own (the bench folder is no package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def location_imports() -> Iterator[None]:
    """``sys.path`` and ``sys.modules`` as they were, after a test imports a generated location
    (its modules, ``nexus_location`` and the rest, have the same names in every folder)."""
    path, modules = list(sys.path), set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if name.split(".")[0] in {
                "nexus_location",
                "nexus_assets",
                "plain_location",
                "plain_assets",
            }:
                del sys.modules[name]


def launched_runs(location: ModuleType) -> Any:
    """The run config each job gives partition 2026-03-01, and the run requests of each
    schedule's tick on 2026-07-03, as JSON has them (the twins may build a list or a tuple)."""
    tick = datetime.datetime(2026, 7, 3, 5, tzinfo=datetime.timezone.utc)
    repo = location.defs.get_repository_def()
    runs: dict[str, Any] = {}
    for job in repo.get_all_jobs():
        if not job.name.startswith("__"):
            runs[job.name] = job.partitioned_config.get_run_config_for_partition_key("2026-03-01")
    for schedule in repo.schedule_defs:
        context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo)
        requests = schedule.evaluate_tick(context).run_requests
        assert requests is not None, schedule.name
        runs[schedule.name] = [[r.run_key, r.partition_key, r.run_config] for r in requests]
    return json.loads(json.dumps(runs))


def test_partitioned_twins_launch_the_same_runs(tmp_path: Path, location_imports: None) -> None:
    # The plain twin of a partitioned location must give every partition, and every schedule
    # tick, the run config nexus gives it, or the benchmark compares different work.
    folder = bench_module("generate").write_location(
        tmp_path / "p5", 5, SMOKE_ASSETS, partitioned=True
    )
    sys.path.insert(0, str(folder))
    nexus = launched_runs(importlib.import_module("nexus_location"))
    plain = launched_runs(importlib.import_module("plain_location"))
    assert len(nexus) == 11  # 6 jobs (5 specs and the run job) and 5 schedule ticks
    assert nexus == plain
    assert all(len(requests) == 1 for name, requests in nexus.items() if name.endswith("_daily"))


def test_importing_the_package_leaves_the_editing_api_unloaded() -> None:
    # Every code-server load and every step process imports nexus_dagster; ruamel.yaml (for
    # spec edits only) would cost each of them about a tenth of a second.
    code = "import sys, nexus_dagster; print('ruamel.yaml' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
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


def test_asset_graph_bench_runs_each_variant_and_reports_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "")  # as the script sets it when it is not set
    raw = tmp_path / "graph.json"
    main = bench_module("asset_graph").main
    assert main(["--assets", "3", "--reps", "1", "--json", str(raw)]) == 0
    assert "| nexus, `asset_defaults` spec |" in capsys.readouterr().out
    result = json.loads(raw.read_text())
    assert set(result["median_s"]) == {"nexus", "plain", "spec_job"}
    assert result["nexus_vs_plain"] > 0 and result["nexus_vs_spec_job"] > 0


def test_typed_bench_runs_each_twin_and_reports_the_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the script sets them when they are not set: an ephemeral instance, no spec cache.
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE", "off")
    raw = tmp_path / "typed.json"
    main = bench_module("typed").main
    assert main(["--smoke", "--json", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "### Typed parameters: a spec job's run, typed against mapping" in out
    assert "| **run** (s) |" in out
    (result,) = json.loads(raw.read_text())["results"]
    # Every asset of every twin ran and timed its call (the run checked they resolved alike).
    assert result["call_n"] == {"typed": 20, "mapping": 20, "plain": 20}
    assert result["typed_vs_mapping"]["median"] > 0


def test_asset_page_bench_loads_with_and_without_the_tables_and_reports_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], location_imports: None
) -> None:
    raw = tmp_path / "page.json"
    assert bench_module("asset_page").main(["--smoke", "--json", str(raw)]) == 0
    assert "| load (import + resolve every job) |" in capsys.readouterr().out
    result = json.loads(raw.read_text())
    assert set(result) >= {"tables", "none", "load_ratio", "snapshot_ratio", "rss_ratio"}
    assert result["load_ratio"] > 0

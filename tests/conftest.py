"""Shared fixtures: a temporary copy of the example data, a temporary DAGSTER_HOME, and a
helper to write spec folders."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Code locations for the tests: imported by the tests themselves (or by `dagster` subprocesses),
# not collected, since some read environment variables the tests set.
collect_ignore = ["locations"]

# The modules that take longest (seconds of one worker, as `--durations=0` reports them, quiet
# machine). They start first, so that none of them is left to run alone at the end while the
# other workers idle; the rest follow in pytest-randomly's order.
#
# pytest-xdist (`--dist loadgroup --no-loadscope-reorder`) hands out units of work (a module, or
# an xdist group) in this order, one to each worker, then each worker one more whenever it holds
# two tests or fewer. The three longest units keep a fixed place at the head: the deployment, the
# shared `dagster dev` (three modules, one xdist group: one unit on one worker), and dg. Their
# place is not varied because wall time depends on it (under 4 minutes on 2 cores: one of them
# started late runs alone at the end), and each does its work in processes of its own (Postgres
# and Dagster's daemons, `dagster dev`, `dg`), leaving little process-wide state for another
# module to meet. Within the `dagster dev` group, the three modules take pytest-randomly's order.
STARTED_FIRST = (
    "test_deployment.py",  # ~115 s, one test: Postgres, code server, daemon, a schedule's tick
    # one `dagster dev` (test_ui_launchpad.py alone ~60 s)
    ("test_ui_launchpad.py", "test_asset_graph_ui.py", "test_graphql.py"),
    "test_dg.py",  # ~65 s
)
# The long modules after them start before the rest, in pytest-randomly's order (shuffled by its
# seed, so `--randomly-seed=N` repeats one order), so that the process-wide state one of them
# leaves on a worker meets the others in a different order from one seed to the next.
STARTED_NEXT = (
    "test_bench_smoke.py",  # ~40 s
    "test_install.py",  # a fresh clone builds its base venvs: ~25 s per release (~4 s after)
    "test_validate_agreement.py",
    "test_consistency.py",
    "test_automation_daemon.py",
    "test_daemon_runs.py",  # ~30 s: one daemon, its retries and backfills
    "test_reexecution.py",  # ~35 s: runs and re-executions, each batch a process of its own
    "test_asset_graph.py",
    "test_partitioned.py",
    "test_run_history.py",
    "test_e2e_jobs.py",
    "test_celery.py",
    "test_isolate.py",
)


def start_rank() -> dict[str, int]:
    """Each long module's rank: the fixed head's in its order (a group's modules one rank),
    then one rank for all of `STARTED_NEXT`; a module not named takes the rank after."""
    rank: dict[str, int] = {}
    for position, entry in enumerate(STARTED_FIRST):
        for name in (entry,) if isinstance(entry, str) else entry:
            rank[name] = position
    rank.update(dict.fromkeys(STARTED_NEXT, len(STARTED_FIRST)))
    return rank


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the long modules first. The sort is stable and modules of one rank share it, so
    pytest-randomly's shuffled order (of the modules, and of each module's tests) is kept among
    them: the order varies with its seed, and one seed repeats one order."""
    rank = start_rank()
    items.sort(key=lambda item: rank.get(item.path.name, len(STARTED_FIRST) + 1))


# Dagster's own `execution` section, which a spec job's run config passes through:
# the run's steps in the launching process, where step processes are not what a test is about;
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
# or each step in a process of its own, forked from a server that has imported Dagster once (the
# `forkserver` start method) instead of a new interpreter importing it again for every step: each
# step still imports the code location, and so reads the spec files anew.
FORKSERVER = {"execution": {"config": {"multiprocess": {"start_method": {"forkserver": {}}}}}}


@pytest.fixture(scope="session", autouse=True)
def spec_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every ``dagster`` or ``nexus-dagster`` subprocess it starts, caches its
    checked specs in one folder of the session's own, never in the user's cache."""
    folder = tmp_path_factory.mktemp("spec_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEXUS_DAGSTER_CACHE_DIR", str(folder))
        patch.delenv("NEXUS_DAGSTER_CACHE", raising=False)
        yield folder


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def example_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of ``data/`` that the example assets read and write (NEXUS_EXAMPLE_DATA)."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("*-lake"))
    monkeypatch.setenv("NEXUS_EXAMPLE_DATA", str(data))
    return data


def new_dagster_home(home: Path) -> Path:
    """A folder for a persistent Dagster instance (``DAGSTER_HOME``), telemetry off."""
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = new_dagster_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home


def error_text(events: Iterable[Any]) -> str:
    """The text of every error among Dagster events or event log entries (a step's failure, the
    resources' before any step), causes included."""
    texts = []
    for item in events:
        event = getattr(item, "dagster_event", item)
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if error is not None:
            texts.append(error.to_string())
    return "\n".join(texts)


def write_specs(folder: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: YAML text}`` under ``folder`` (text is dedented)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return folder


@functools.cache
def example_location() -> ModuleType:
    """The example code location (``definitions.py``), loaded once under its own module name so
    that no other module called ``definitions`` (a CLI test's copy, say) can stand in for it."""
    spec = importlib.util.spec_from_file_location("nexus_example_location", REPO / "definitions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

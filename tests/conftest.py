"""Shared fixtures: a temporary copy of the example data, a temporary DAGSTER_HOME, and a
helper to write spec folders."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent

# Code locations for the tests: imported by the tests themselves (or by `dagster` subprocesses),
# not collected, since some read environment variables the tests set.
collect_ignore = ["locations"]


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

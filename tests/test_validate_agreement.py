"""`nexus-dagster validate` and `dagster definitions validate` agree on every fixture folder of
specs in the tests: a spec problem is never reported by one and missed by the other (the two once
disagreed on partitioned assets), and both report every problem in the same line.

`dagster definitions validate` runs as a process of its own, Dagster's command line as users run
it (forked from a process that has imported Dagster, `forked_dagster`: it imports the code
location anew); `nexus-dagster validate` runs in this process (`invoke`), one code location after
another. Each location is validated with the spec cache cold (an empty folder for each validator,
Dagster's first) and warm (Dagster after ours has filled the folder); the broken fixture folders
are checked together, as one folder, with the spec cache cold, warm and off."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from .cli_support import Run, invoke
from .forked_dagster import dagster

TESTS = Path(__file__).parent
REPO = TESTS.parent
ANY_SPECS = TESTS / "locations" / "any_specs_location.py"
CLI_TIMEOUT = 180  # seconds, for one `dagster definitions validate`

# Every code location of the tests (with its own specs folder), the example, and spec folders
# loaded through a location over the partitioned fixture's assets. (The locations whose tests
# write their specs folder at run time, `$NEXUS_TEST_SPECS`, are left out: `consistency_location`,
# `automation_location` and others.)
LOCATIONS = sorted(
    p
    for p in (TESTS / "locations").glob("*_location.py")
    if p != ANY_SPECS and "NEXUS_TEST_SPECS" not in p.read_text()
)
SPEC_FOLDERS = [TESTS / "locations" / "broken_partitioned_specs", TESTS / "hostile"]
CASES = [
    *[pytest.param(p, id=p.stem) for p in [REPO / "definitions.py", *LOCATIONS]],
    pytest.param(TESTS / "cli_fixtures" / "vault" / "vault_location.py", id="vault"),
]
# what every validation is run with: no instance, and a broker URL for the Celery location
ENV = {"NEXUS_CELERY_BROKER": "redis://127.0.0.1:1/0"}
# the folder of the spec cache (the session's own, `spec_cache_dir` in conftest.py, unless a
# test gives another)
CACHE_DIR = "NEXUS_DAGSTER_CACHE_DIR"
# `N problem(s) in nexus job specs:`, the first line of the error that lists them
HEADER = re.compile(r"(\d+) problems? in nexus job specs:$")


@pytest.fixture(autouse=True)
def no_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def _forget(location: Path) -> None:
    """Drop the modules of ``location``'s folder that an earlier load imported (by their file
    names, as Dagster imports a ``-f`` file), so that the next load imports them anew: with the
    environment it is given, and past a load that failed half-way."""
    for path in location.parent.glob("*.py"):
        module = sys.modules.get(path.stem)
        if module is not None and Path(getattr(module, "__file__", "") or "") == path:
            del sys.modules[path.stem]


def ours(location: Path, env: Mapping[str, str]) -> Run:
    _forget(location)
    try:
        return invoke(
            ["validate", "-f", str(location), "-d", str(location.parent)],
            location.parent,
            env={**ENV, **env},
        )
    finally:
        _forget(location)


def theirs(location: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **ENV, **env}
    environment.pop("DAGSTER_HOME", None)
    return dagster(
        ["definitions", "validate", "-f", str(location), "-d", str(location.parent)],
        env=environment,
        cwd=location.parent,
        timeout=CLI_TIMEOUT,
    )


def our_lines(done: Run, cwd: Path) -> list[str]:
    """Every line ``nexus-dagster validate`` printed, each a ``path:line:col: message`` problem,
    with its path made absolute (the command shows paths under its folder relative to it)."""
    lines = [line.strip() for line in done.out.splitlines() if line.strip()]
    assert all(line.count(":") >= 3 for line in lines), done.out
    return sorted(line if line.startswith("/") else f"{cwd}/{line}" for line in lines)


def their_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The problem lines of the spec error Dagster shows as the location's load error: the
    ``N problems in nexus job specs:`` line and the N lines after it (the last such error, if
    Dagster logs it more than once)."""
    lines = (done.stdout + done.stderr).splitlines()
    found: list[str] = []
    for at, line in enumerate(lines):
        header = HEADER.search(line)
        if header:
            found = lines[at + 1 : at + 1 + int(header.group(1))]
    return sorted(line.strip() for line in found)


def assert_agree(mine: Run, dagster: subprocess.CompletedProcess[str], cwd: Path) -> list[str]:
    """Both exit alike, and list the same problems, every one in the same line."""
    assert mine.code in (0, 1), mine.err
    assert (mine.code == 0) == (dagster.returncode == 0), (
        f"nexus-dagster validate exited {mine.code}:\n{mine.out}{mine.err}\n"
        f"dagster definitions validate exited {dagster.returncode}:\n{dagster.stderr[-2000:]}"
    )
    assert "CheckError" not in dagster.stdout + dagster.stderr
    lines = our_lines(mine, cwd) if mine.code else []
    assert bool(lines) == bool(mine.code), mine.out
    assert lines == their_lines(dagster), (
        f"nexus-dagster validate:\n{mine.out}\n"
        f"dagster definitions validate:\n{(dagster.stdout + dagster.stderr)[-4000:]}"
    )
    return lines


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("specs-*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("cache", ["cold", "warm"])
@pytest.mark.parametrize("location", CASES)
def test_nexus_and_dagster_validate_agree(location: Path, cache: str, tmp_path: Path) -> None:
    """``cold``: each validator loads the location with an empty spec cache folder of its own,
    Dagster's first; ``warm``: Dagster's loads it with the folder ours has just filled."""
    if cache == "cold":
        dagster = theirs(location, {CACHE_DIR: str(tmp_path / "dagster")})
        mine = ours(location, {CACHE_DIR: str(tmp_path / "nexus")})
    else:
        mine = ours(location, {CACHE_DIR: str(tmp_path / "shared")})
        filled = cache_files(tmp_path / "shared")
        dagster = theirs(location, {CACHE_DIR: str(tmp_path / "shared")})
    assert_agree(mine, dagster, location.parent)
    if mine.code == 0:
        # the cache was on: each validator's load wrote (or kept) the checked specs there
        if cache == "cold":
            assert cache_files(tmp_path / "dagster") and cache_files(tmp_path / "nexus")
        else:
            assert filled and cache_files(tmp_path / "shared") == filled


@pytest.fixture
def broken_folder(tmp_path: Path) -> Path:
    """The broken fixture folders, each a folder under one specs folder, so that one validation
    reads every file of both."""
    folder = tmp_path / "specs"
    for source in SPEC_FOLDERS:
        shutil.copytree(source, folder / source.name)
    return folder


def test_every_broken_file_is_refused_alike_with_the_cache_cold_warm_and_off(
    tmp_path: Path, broken_folder: Path
) -> None:
    # A warm cache once passed a file whose only problem was a duplicate key: the location's
    # own load cached the file before `validate` checked it again (`duplicate_value_key.yaml`).
    # Cold: each validator with an empty cache folder of its own (Dagster's is never the one
    # ours filled); warm: both with the folder ours filled in the cold step; off: no cache.
    cold = {"nexus": tmp_path / "cold-nexus", "dagster": tmp_path / "cold-dagster"}
    modes = {
        "cold": ({CACHE_DIR: str(cold["nexus"])}, {CACHE_DIR: str(cold["dagster"])}),
        "warm": ({CACHE_DIR: str(cold["nexus"])}, {CACHE_DIR: str(cold["nexus"])}),
        "off": ({"NEXUS_DAGSTER_CACHE": "off"}, {"NEXUS_DAGSTER_CACHE": "off"}),
    }
    seen: dict[str, list[str]] = {}
    for mode, (our_env, their_env) in modes.items():
        folder = {"NEXUS_SPECS_DIR": str(broken_folder)}
        if mode == "cold":
            assert not cache_files(cold["nexus"]) and not cache_files(cold["dagster"])
        if mode == "warm":
            # the cold step's loads stored the files that pass their own checks
            assert cache_files(cold["nexus"])
        mine = ours(ANY_SPECS, {**our_env, **folder})
        dagster = theirs(ANY_SPECS, {**their_env, **folder})
        if mode == "cold":
            # Dagster's load found its folder empty, and filled it as ours filled its own
            assert cache_files(cold["dagster"])
        assert mine.code == 1, f"{mode}: {mine.out}{mine.err}"
        assert dagster.returncode == 1, f"{mode}: {dagster.stderr[-2000:]}"
        lines = assert_agree(mine, dagster, ANY_SPECS.parent)
        # every file is refused, by both
        for source in SPEC_FOLDERS:
            prefix = f"{broken_folder / source.name}/"
            refused = {
                line.removeprefix(prefix).split(":", 1)[0]
                for line in lines
                if line.startswith(prefix)
            }
            assert sorted(refused) == sorted(p.name for p in source.glob("*.yaml")), mode
        seen[mode] = lines
    assert seen["cold"] == seen["warm"] == seen["off"]
    hostile = broken_folder / "hostile"
    assert (
        f"{hostile}/duplicate_value_key.yaml:5:3: parameter_values.bucket: duplicate key; "
        "keep only one" in seen["warm"]
    )
    # the partitioned fixture's problems are found beside the hostile files
    partitioned = broken_folder / "broken_partitioned_specs"
    assert (
        f"{partitioned}/mixed_job.yaml:2:1: selection: the selected assets are partitioned "
        "differently" in "\n".join(seen["cold"])
    )


def test_the_broken_partitioned_fixture_reports_each_problem() -> None:
    done = ours(ANY_SPECS, {"NEXUS_SPECS_DIR": str(SPEC_FOLDERS[0])})
    assert done.code == 1
    text = done.out
    assert "mixed_job.yaml:2:1: selection: the selected assets are partitioned differently" in text
    assert "static_schedule_job.yaml:4:5: schedules[0]: this job is partitioned by static" in text
    assert (
        "sections_job.yaml:2:31: parameter_values.resources: `resources` is Dagster's own" in text
    )

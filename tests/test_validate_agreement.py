"""`nexus-dagster validate` and `dagster definitions validate` agree on every fixture folder of
specs in the tests: a spec problem is never reported by one and missed by the other (the two once
disagreed on partitioned assets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
BIN = Path(sys.executable).parent
ANY_SPECS = TESTS / "locations" / "any_specs_location.py"

# Every code location of the tests (with its own specs folder), the example, and spec folders
# loaded through a location over the partitioned fixture's assets.
# (`consistency_location` and `automation_location` are left out: their tests write their specs
# folders at run time.)
LOCATIONS = sorted(
    p
    for p in (TESTS / "locations").glob("*_location.py")
    if p
    not in (
        ANY_SPECS,
        TESTS / "locations" / "consistency_location.py",
        TESTS / "locations" / "automation_location.py",
    )
)
SPEC_FOLDERS = [TESTS / "locations" / "broken_partitioned_specs", TESTS / "hostile"]
CASES = [
    *[pytest.param(p, None, id=p.stem) for p in [REPO / "definitions.py", *LOCATIONS]],
    pytest.param(TESTS / "cli_fixtures" / "vault" / "vault_location.py", None, id="vault"),
    *[pytest.param(ANY_SPECS, folder, id=folder.name) for folder in SPEC_FOLDERS],
]


def _run(
    command: list[str], location: Path, specs: Path | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": "", "NEXUS_CELERY_BROKER": "redis://127.0.0.1:1/0"}
    env.pop("DAGSTER_HOME")
    if specs is not None:
        env["NEXUS_SPECS_DIR"] = str(specs)
    return subprocess.run(
        [*command, "-f", str(location), "-d", str(location.parent)],
        env=env,
        cwd=location.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(("location", "specs"), CASES)
def test_nexus_and_dagster_validate_agree(location: Path, specs: Path | None) -> None:
    ours = _run([str(BIN / "nexus-dagster"), "validate"], location, specs)
    theirs = _run([str(BIN / "dagster"), "definitions", "validate"], location, specs)
    assert ours.returncode in (0, 1), ours.stderr
    assert (ours.returncode == 0) == (theirs.returncode == 0), (
        f"nexus-dagster validate exited {ours.returncode}:\n{ours.stdout}{ours.stderr}\n"
        f"dagster definitions validate exited {theirs.returncode}:\n{theirs.stderr[-2000:]}"
    )
    if ours.returncode:
        # every problem is a `path:line:col: message` line, and Dagster shows the same lines
        lines = [line for line in ours.stdout.splitlines() if line.strip()]
        assert lines
        assert all(line.count(":") >= 3 for line in lines), ours.stdout
        assert "CheckError" not in theirs.stdout + theirs.stderr
        first = lines[0].split(": ", 1)[1]
        assert first in theirs.stdout + theirs.stderr


def test_the_broken_partitioned_fixture_reports_each_problem() -> None:
    done = _run(
        [str(BIN / "nexus-dagster"), "validate"],
        ANY_SPECS,
        TESTS / "locations" / "broken_partitioned_specs",
    )
    assert done.returncode == 1
    text = done.stdout
    assert "mixed_job.yaml:2:1: selection: the selected assets are partitioned differently" in text
    assert "static_schedule_job.yaml:4:5: schedules[0]: this job is partitioned by static" in text
    assert (
        "sections_job.yaml:2:31: parameter_values.resources: `resources` is Dagster's own" in text
    )


def _problem_lines(text: str, folder: Path) -> list[str]:
    """The ``path:line:col: message`` lines of ``text`` that name a file of ``folder``."""
    prefix = f"{folder}/"
    return sorted(line.strip() for line in text.splitlines() if line.startswith(prefix))


def test_every_hostile_file_is_refused_alike_with_the_cache_cold_warm_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A warm cache once passed a file whose only problem was a duplicate key: the location's
    # own load cached the file before `validate` checked it again (`duplicate_value_key.yaml`).
    folder = TESTS / "hostile"
    files = sorted(p.name for p in folder.glob("*.yaml"))
    modes = {
        "cold": {"NEXUS_DAGSTER_CACHE_DIR": str(tmp_path / "cache")},
        "warm": {"NEXUS_DAGSTER_CACHE_DIR": str(tmp_path / "cache")},
        "off": {"NEXUS_DAGSTER_CACHE": "off"},
    }
    seen: dict[str, list[str]] = {}
    for mode, env in modes.items():
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        ours = _run([str(BIN / "nexus-dagster"), "validate"], ANY_SPECS, folder)
        theirs = _run([str(BIN / "dagster"), "definitions", "validate"], ANY_SPECS, folder)
        assert ours.returncode == 1, f"{mode}: {ours.stdout}{ours.stderr}"
        assert theirs.returncode == 1, f"{mode}: {theirs.stderr[-2000:]}"
        lines = _problem_lines(ours.stdout, folder)
        assert lines == _problem_lines(theirs.stdout + theirs.stderr, folder), mode
        # every file is refused, by both
        assert sorted({line.split(":", 1)[0].rsplit("/", 1)[1] for line in lines}) == files
        seen[mode] = lines
        for name in env:
            monkeypatch.delenv(name)
    assert seen["cold"] == seen["warm"] == seen["off"]
    assert (
        f"{folder}/duplicate_value_key.yaml:5:3: parameter_values.bucket: duplicate key; "
        "keep only one" in seen["warm"]
    )

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

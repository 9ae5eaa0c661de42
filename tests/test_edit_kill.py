"""A killed edit leaves the old file or the new one, never a torn one, and never a held lock."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from nexus_dagster.yaml_source import load_yaml

from .conftest import REPO

NEXUS = str(Path(sys.executable).parent / "nexus-dagster")


def example_copy(folder: Path) -> Path:
    folder.mkdir()
    for name in ("definitions.py", "workspace.yaml"):
        shutil.copy(REPO / name, folder / name)
    shutil.copytree(REPO / "job_specs", folder / "job_specs")
    return folder


def batch_size(spec: Path) -> object:
    document = load_yaml(spec.read_text(encoding="utf-8")).value  # raises on a torn file
    return document.get("ops_config", {}).get("sales_ingestion_asset", {}).get("batch_size")


def update(cwd: Path, value: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [NEXUS, "update", "sales_job", "--set", f"sales_ingestion_asset.batch_size={value}"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_killed_edits_leave_the_old_or_the_new_file(tmp_path: Path) -> None:
    cwd = example_copy(tmp_path / "example")
    spec = cwd / "job_specs" / "sales_job.yaml"

    started = time.monotonic()
    assert update(cwd, 1).wait(timeout=120) == 0
    full = time.monotonic() - started  # most of it is importing the code location
    assert batch_size(spec) == 1

    rng = random.Random(20261126)
    current: object = 1
    outcomes = {"old": 0, "new": 0}
    for value in range(2, 14):
        process = update(cwd, value)
        # Kill late in the edit, where reading, checking and writing happen.
        time.sleep(full * rng.uniform(0.6, 1.1))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        seen = batch_size(spec)
        assert seen in (current, value), f"torn or foreign content after kill: {seen!r}"
        outcomes["new" if seen == value else "old"] += 1
        current = seen

    # No lock is left held by a killed process, and leftovers never count as specs.
    assert update(cwd, 99).wait(timeout=60) == 0
    assert batch_size(spec) == 99
    leftovers = [p.name for p in spec.parent.iterdir() if p.suffix in (".yaml", ".yml")]
    assert sorted(leftovers) == [
        "daily_orders_job.yaml",
        "daily_report_job.yaml",
        "sales_job.yaml",
        "sales_sample_job.yaml",
    ]
    print(f"killed edits: {outcomes}")

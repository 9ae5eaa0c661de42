"""A killed edit leaves the old file or the new one, never a torn one, and never a held lock.

Each edit is a real ``nexus-dagster update`` process, stopped inside its critical window: its
atomic write (``nexus_dagster.edit_transaction``) is wrapped in that process alone so that, at
a chosen step, it writes a marker file and sleeps, holding the specs folder's lock. The test
waits for the marker, checks the lock is held, kills the process group with SIGKILL, and then
checks what is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from nexus_dagster.edit_transaction import LOCK_NAME, LOCK_TIMEOUT_SECONDS
from nexus_dagster.yaml_source import load_yaml

from .conftest import REPO

NEXUS = str(Path(sys.executable).parent / "nexus-dagster")
WAIT = 120.0  # a run or a subprocess on 2 cores
SPECS = [
    "daily_orders_job.yaml",
    "daily_report_job.yaml",
    "sales_job.yaml",
    "sales_sample_job.yaml",
]

# Runs `nexus-dagster update` in this process, its write stopped at STAGE:
#   locked   - the lock is held, nothing is written yet (before the temporary file is made);
#   written  - the temporary file is written and synced, not yet put in place;
#   replaced - the temporary file has replaced the spec; the lock is still held.
# Only the transaction module's `os` and `tempfile` are wrapped, nothing else in the process.
STOPPED_EDIT = """
import os, sys, tempfile, time
from pathlib import Path

import nexus_dagster.edit_transaction as transaction
from nexus_dagster.cli import main

stage, marker, value = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


def stop():
    marker.write_text(str(os.getpid()))
    time.sleep(600)


class Tempfile:
    def __getattr__(self, name):
        return getattr(tempfile, name)

    def mkstemp(self, *args, **kwargs):
        if stage == "locked":
            stop()
        return tempfile.mkstemp(*args, **kwargs)


class Os:
    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        if stage == "written":
            stop()
        os.replace(src, dst)
        if stage == "replaced":
            stop()


transaction.tempfile = Tempfile()
transaction.os = Os()
main(["update", "sales_job", "--set", f"sales_ingestion_asset.batch_size={value}"])
"""


def example_copy(folder: Path) -> Path:
    folder.mkdir()
    for name in ("definitions.py", "workspace.yaml"):
        shutil.copy(REPO / name, folder / name)
    shutil.copytree(REPO / "job_specs", folder / "job_specs")
    return folder


def document(spec: Path) -> dict[str, Any]:
    value = load_yaml(spec.read_text(encoding="utf-8")).value  # raises on a torn file
    assert isinstance(value, dict)
    return value


def batch_size(spec: Path) -> object:
    return document(spec).get("ops_config", {}).get("sales_ingestion_asset", {}).get("batch_size")


def leftovers(specs: Path) -> list[str]:
    return sorted(p.name for p in specs.iterdir() if p.name.endswith(".tmp"))


def lock_is_free(specs: Path) -> bool:
    try:
        with FileLock(str(specs / LOCK_NAME), timeout=0):
            return True
    except Timeout:
        return False


def kill_at(cwd: Path, stage: str, value: int) -> None:
    """Run an update of ``batch_size`` to ``value``, stopped at ``stage``; SIGKILL it there."""
    marker = cwd.parent / f"{stage}.marker"
    with (cwd.parent / f"{stage}.log").open("w+b") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", STOPPED_EDIT, stage, str(marker), str(value)],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + WAIT
            while not marker.exists() and process.poll() is None:
                if time.monotonic() > deadline:
                    pytest.fail(f"the edit did not reach `{stage}` in {WAIT:.0f} s")
                time.sleep(0.05)
            log.seek(0)
            assert marker.exists(), f"the edit ended before `{stage}`:\n{log.read().decode()}"
            assert not lock_is_free(cwd / "job_specs"), f"the lock is not held at `{stage}`"
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=WAIT)
    assert process.returncode == -signal.SIGKILL
    assert lock_is_free(cwd / "job_specs"), f"a process killed at `{stage}` left the lock held"


def test_killed_edits_leave_the_old_or_the_new_file(tmp_path: Path) -> None:
    cwd = example_copy(tmp_path / "example")
    specs = cwd / "job_specs"
    spec = specs / "sales_job.yaml"
    original = spec.read_bytes()
    assert batch_size(spec) is None

    # Killed holding the lock, before anything is written: the old file, nothing left over.
    kill_at(cwd, "locked", 11)
    assert spec.read_bytes() == original
    assert leftovers(specs) == []

    # Killed between writing the temporary file and putting it in place: still the old file;
    # the temporary file is left beside it, whole.
    kill_at(cwd, "written", 12)
    assert spec.read_bytes() == original
    [temporary] = leftovers(specs)
    assert temporary.startswith(".sales_job.yaml.")
    assert batch_size(specs / temporary) == 12

    # Killed right after the replace, lock still held: the new file, whole (the text the edit
    # to 12 had written, with 13).
    kill_at(cwd, "replaced", 13)
    assert batch_size(spec) == 13
    written = (specs / temporary).read_text(encoding="utf-8")
    assert spec.read_text(encoding="utf-8") == written.replace("batch_size: 12", "batch_size: 13")
    assert leftovers(specs) == [temporary]

    # The lock can be taken again at once, and the leftover never counts as a spec.
    started = time.monotonic()
    update = subprocess.run(
        [NEXUS, "update", "sales_job", "--set", "sales_ingestion_asset.batch_size=14"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert update.returncode == 0, update.stderr
    assert time.monotonic() - started < LOCK_TIMEOUT_SECONDS
    assert batch_size(spec) == 14
    assert sorted(p.name for p in specs.iterdir() if p.suffix in (".yaml", ".yml")) == SPECS

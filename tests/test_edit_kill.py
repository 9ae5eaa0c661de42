"""A killed edit leaves the old file or the new one, never a torn one, and never a held lock.

Each edit is ``nexus-dagster update`` in a real process of its own (forked from the test's, with
Dagster and the plugin imported), stopped inside its critical window: its atomic write
(``nexus_dagster.edit_transaction``) is wrapped in that process alone so that, at
a chosen step, it writes a marker file and sleeps, holding the specs folder's lock. The test
waits for the marker, checks the lock is held, kills the process group with SIGKILL, and then
checks what is left.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

import nexus_dagster.edit_transaction as transaction
from nexus_dagster.cli import main
from nexus_dagster.edit_transaction import LOCK_NAME, LOCK_TIMEOUT_SECONDS
from nexus_dagster.yaml_source import load_yaml

from .cli_support import invoke
from .conftest import REPO

WAIT = 120.0  # a run or a subprocess on 2 cores
SPECS = [
    "daily_orders_job.yaml",
    "daily_report_job.yaml",
    "sales_job.yaml",
    "sales_sample_job.yaml",
    "top_sales_job.yaml",
]


def stopped_edit(cwd: Path, stage: str, marker: Path, value: int, log: Path) -> None:
    """``nexus-dagster update`` of ``batch_size`` to ``value`` in ``cwd``, its write stopped at
    ``stage``, in a process forked from this one (a session of its own, its output to ``log``):
      locked   - the lock is held, nothing is written yet (before the temporary file is made);
      written  - the temporary file is written and synced, not yet put in place;
      replaced - the temporary file has replaced the spec; the lock is still held.
    Only the transaction module's ``os`` and ``tempfile`` are wrapped, in that process alone."""
    os.setsid()
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.chdir(cwd)

    def stop() -> None:
        marker.write_text(str(os.getpid()))
        time.sleep(600)

    class Tempfile:
        def __getattr__(self, name: str) -> Any:
            return getattr(tempfile, name)

        def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
            if stage == "locked":
                stop()
            return tempfile.mkstemp(*args, **kwargs)

    class Os:
        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        def replace(self, src: str, dst: str) -> None:
            if stage == "written":
                stop()
            os.replace(src, dst)
            if stage == "replaced":
                stop()

    transaction.tempfile = Tempfile()  # type: ignore[assignment]
    transaction.os = Os()  # type: ignore[assignment]
    main(["update", "sales_job", "--set", f"sales_ingestion_asset.batch_size={value}"])


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
    log = cwd.parent / f"{stage}.log"
    process = multiprocessing.get_context("fork").Process(
        target=stopped_edit, args=(cwd, stage, marker, value, log)
    )
    process.start()
    try:
        deadline = time.monotonic() + WAIT
        while not marker.exists() and process.is_alive():
            if time.monotonic() > deadline:
                pytest.fail(f"the edit did not reach `{stage}` in {WAIT:.0f} s")
            time.sleep(0.05)
        assert marker.exists(), f"the edit ended before `{stage}`:\n{log.read_text()}"
        assert not lock_is_free(cwd / "job_specs"), f"the lock is not held at `{stage}`"
    finally:
        if process.is_alive():
            os.killpg(process.pid, signal.SIGKILL)  # its session's group: its pid
        process.join(timeout=WAIT)
    assert process.exitcode == -signal.SIGKILL
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
    update = invoke(["update", "sales_job", "--set", "sales_ingestion_asset.batch_size=14"], cwd)
    assert update.code == 0, update.err
    assert time.monotonic() - started < LOCK_TIMEOUT_SECONDS
    assert batch_size(spec) == 14
    assert sorted(p.name for p in specs.iterdir() if p.suffix in (".yaml", ".yml")) == SPECS

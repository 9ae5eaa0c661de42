"""`pip install nexus-dagster` into an environment that already holds a supported Dagster release
changes none of what it holds, and `pip check` stays clean (docs/dagster-releases.md).

For each release of ``RELEASES``: a venv holding ``dagster==X`` and ``dagster-webserver==X`` (the
base, built once per release and Python and kept under ``.cache/install-bases/``, which git
ignores) is copied, and the copy's own pip installs the package from a copy of this repository's
sources, non-editable, with its dependencies, as a user would. Every package the copy held
before must be there after at the same version (``pip freeze --all``, line by line); new ones may
appear. A dependency pinned to one Dagster patch release (``dagster==1.13.27``) fails here: pip
replaces the environment's Dagster, and its dagster-webserver no longer matches.

Real pip against the package registry every time: only the bases are kept between runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from .conftest import REPO

# The releases the package is installed beside: the newest 1.13 release that has a
# dagster-webserver (dagster 1.13.29 has none yet), and the newest 1.12 release. The oldest
# release supported (1.12.0) is the floor venv's (requirements-floor.lock). To update: run
# `pip index versions dagster-webserver` and take the newest release of each line (a dagster
# release of that number exists whenever its dagster-webserver does).
RELEASES = ("1.13.28", "1.12.22")

BASES = REPO / ".cache" / "install-bases"
# What the package's installed distribution needs from this repository (pyproject.toml names
# README.md as its long description, and its packages under nexus_dagster/).
SOURCES = ("pyproject.toml", "README.md", "nexus_dagster")
PIP_TIMEOUT = 900  # seconds, for one pip command (building a base downloads Dagster)

pytestmark = [pytest.mark.install, pytest.mark.timeout(2 * PIP_TIMEOUT)]


def pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pip ARGS``: the venv's own pip (this works in a copied venv too, whose
    console scripts still name the original's interpreter)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return subprocess.run(
        [str(python), "-m", "pip", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
    )


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"`{' '.join(done.args[1:])}` failed:\n{tail(done)}"
    return done


def tail(done: subprocess.CompletedProcess[str], lines: int = 30) -> str:
    """The end of what pip printed, less the lines that tell nothing (a requirement already
    satisfied; a location of this machine's pip configuration that is ignored)."""
    skip = ("Requirement already satisfied", "is ignored")
    text = (done.stdout + done.stderr).splitlines()
    return "\n".join([line for line in text if not any(s in line for s in skip)][-lines:])


def base_venv(release: str) -> Path:
    """The venv holding ``dagster==release`` and ``dagster-webserver==release`` (and nothing
    else but pip), built on first use under a lock (another pytest process may want it too)."""
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    base = BASES / f"{release}-{python}"
    BASES.mkdir(parents=True, exist_ok=True)
    with FileLock(str(BASES / f"{release}-{python}.lock")):
        if (base / ".complete").exists():
            return base
        building = BASES / f"{release}-{python}.building"
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(building, ignore_errors=True)
        # `-m venv` from this (venv's) interpreter bases the new venv on the same Python.
        subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, timeout=120)
        built = building / "bin" / "python"
        checked(pip(built, "install", "--quiet", "--upgrade", "pip"))
        wanted = (f"dagster=={release}", f"dagster-webserver=={release}")
        checked(pip(built, "install", "--quiet", *wanted))
        checked(pip(built, "check"))
        (building / ".complete").touch()
        building.rename(base)
    return base


def frozen(python: Path) -> dict[str, str]:
    """``pip freeze --all``: each installed distribution's line, by its normalized name."""
    out = checked(pip(python, "freeze", "--all")).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return {normalized(re.split(r"[=@ ]", line, maxsplit=1)[0]): line for line in lines}


def normalized(name: str) -> str:
    """A distribution's name as pip compares names (PEP 503): ``ruamel.yaml`` is ``ruamel-yaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sources(folder: Path) -> Path:
    """The package's sources copied into ``folder`` (pip builds in the source tree: a copy of
    its own keeps two installs at once, and the repository, clean)."""
    folder.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    return folder


@pytest.mark.parametrize("release", RELEASES)
def test_installing_the_package_changes_nothing_of_a_supported_dagster(
    release: str, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["cp", "-a", str(base_venv(release)), str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    before = frozen(python)
    assert before["dagster"] == f"dagster=={release}", before.get("dagster")

    install = pip(python, "install", str(sources(tmp_path / "src")))
    assert install.returncode == 0, tail(install)
    after = frozen(python)

    changed = {
        name: f"{line} -> {after.get(name, '(removed)')}"
        for name, line in before.items()
        if after.get(name) != line
    }
    assert not changed, (
        f"installing the package beside dagster {release} changed what was installed:\n"
        + "\n".join(changed.values())
        + f"\n\npip's output:\n{tail(install)}"
    )
    assert "nexus-dagster" in after
    added = sorted(line for name, line in after.items() if name not in before)
    print(f"dagster {release}: new beside it: {', '.join(added)}")
    check = pip(python, "check")
    assert check.returncode == 0, f"pip check after the install:\n{tail(check)}"

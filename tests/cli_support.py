"""The ``nexus-dagster`` command line run in this process, the way ``CliRunner().invoke`` runs a
click command: ``main(argv)`` in a given folder, with its output and exit code captured. Tests
that are about a command's behaviour use it; the few that are about the installed console script
(and the concurrency and kill tests) run the script as a process."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from nexus_dagster.cli import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def invoke(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """``nexus-dagster ARGS`` run in ``cwd`` with ``env`` laid over this process's environment;
    the folder, the environment and ``sys.path`` are restored afterwards.

    As a new process would, each call imports the code location afresh: the modules it imported
    from ``cwd`` (``definitions.py``, a dg project's package, ...) are dropped again, since
    Dagster's loader would otherwise hand a later call the module, and so the specs, of an
    earlier one. Output that Dagster's logging handlers write goes to the real stderr, not
    to ``Run.err``."""
    out, err = io.StringIO(), io.StringIO()
    saved_cwd = os.getcwd()
    saved_env = {name: os.environ.get(name) for name in (env or {})}
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    folders = {Path(cwd).absolute(), Path(cwd).resolve()}
    os.chdir(cwd)
    os.environ.update(env or {})
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exit_:
                code = (
                    exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                )
    finally:
        os.chdir(saved_cwd)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        sys.path[:] = saved_path
        _forget_modules_from(folders, saved_modules)
    return Run(code, out.getvalue(), err.getvalue())


def _forget_modules_from(folders: set[Path], saved: Mapping[str, ModuleType]) -> None:
    """Put ``sys.modules`` back as it was for every module of the user's code imported from
    ``folders`` since (never this package's, the tests' or an installed one)."""
    for name, module in list(sys.modules.items()):
        if saved.get(name) is module or name.partition(".")[0] in _KEPT:
            continue
        if not any(_is_under(module, folder) for folder in folders):
            continue
        if name in saved:
            sys.modules[name] = saved[name]
        else:
            del sys.modules[name]


_KEPT = {"nexus_dagster", "tests", __name__.partition(".")[0]}
_INSTALLED = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})


def _is_under(module: ModuleType, folder: Path) -> bool:
    files = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    for file in files:
        if not isinstance(file, str):
            continue
        path = os.path.abspath(os.path.join(folder, file))
        if not path.startswith(_INSTALLED) and Path(path).is_relative_to(folder):
            return True
    return False

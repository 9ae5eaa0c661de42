"""The one error hierarchy of nexus-dagster.

Every error derives from :class:`NexusError`. Errors about spec files carry the file, line,
column and dotted key of each problem as attributes, not only as text, so tools can point at
them; every message says what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NexusConfigError",
    "NexusDeclarationError",
    "NexusEditError",
    "NexusError",
    "NexusParamError",
    "NexusRunError",
    "NexusSelectionError",
    "NexusSpecError",
    "SpecProblem",
]


class NexusError(Exception):
    """Base class of every error raised by nexus-dagster."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem in one spec file.

    ``key`` is the dotted path of the offending key inside the file (``ops_config.sales.x``),
    empty when the problem concerns the whole file.
    """

    path: str
    line: int
    col: int
    key: str
    message: str
    shared_with: tuple[str, ...] = field(default=(), compare=False)
    """The other spec files the problem is also theirs (two specs with one job name)."""

    def __str__(self) -> str:
        where = f"{self.key}: " if self.key else ""
        return f"{self.path}:{self.line}:{self.col}: {where}{self.message}"


class NexusSpecError(NexusError):
    """Every problem found in every spec file, one ``path:line:col: message`` line each.

    Example::

        try:
            load_job_specs("job_specs", assets=[...])
        except NexusSpecError as err:
            for problem in err.problems:
                print(problem.path, problem.line, problem.key, problem.message)
    """

    assets: tuple[Any, ...] = ()
    """The code location's assets, when ``build_definitions`` raised this error (so that the
    command line can still check and edit the specs of a location that fails to load)."""

    def __init__(self, problems: Sequence[SpecProblem], specs_dir: str | None = None) -> None:
        self.specs_dir = specs_dir
        self.problems: tuple[SpecProblem, ...] = tuple(
            sorted(problems, key=lambda p: (p.path, p.line, p.col, p.key, p.message))
        )
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in nexus job specs:"
        super().__init__("\n".join([header, *(str(p) for p in self.problems)]))

    def with_assets(self, assets: Sequence[Any]) -> NexusSpecError:
        """This error, knowing the code location's assets (see :attr:`assets`)."""
        self.assets = tuple(assets)
        return self


class NexusDeclarationError(NexusError):
    """An asset's ``nexus/params`` or ``nexus/config`` metadata is malformed."""

    def __init__(self, asset: str, key: str, message: str) -> None:
        self.asset = asset
        self.key = key
        super().__init__(f"asset `{asset}`, metadata `{key}`: {message}")


class NexusParamError(NexusError):
    """A value an asset needs at run time is missing or unusable.

    ``asset`` and ``param`` name what was being resolved; ``names`` are the run config fields
    that could have supplied it.
    """

    def __init__(self, asset: str, param: str, message: str, names: Sequence[str] = ()) -> None:
        self.asset = asset
        self.param = param
        self.names = tuple(names)
        super().__init__(message)


class NexusConfigError(NexusError):
    """Values given for a job's run config (a schedule, a sensor, a helper) are wrong.

    ``names`` lists the offending field names.
    """

    def __init__(self, job: str, message: str, names: Sequence[str] = ()) -> None:
        self.job = job
        self.names = tuple(names)
        super().__init__(f"job `{job}`: {message}")


class NexusSelectionError(NexusError, ValueError):
    """A selection names assets that do not exist, or is not a valid Dagster selection."""


class NexusEditError(NexusError):
    """An edit of a spec file was refused; the file was left as it was.

    ``path`` is the spec file, ``reasons`` one line per reason, each saying what to do.
    """

    def __init__(self, path: str, reasons: Sequence[str]) -> None:
        self.path = path
        self.reasons = tuple(reasons)
        super().__init__("\n".join([f"refused to edit {path}:", *(f"  {r}" for r in self.reasons)]))


class NexusRunError(NexusError):
    """A run of the Dagster instance cannot be read: no instance at ``DAGSTER_HOME``, or no run
    with that id (``run_id``, empty when the instance itself is the problem)."""

    def __init__(self, message: str, run_id: str = "") -> None:
        self.run_id = run_id
        super().__init__(message)

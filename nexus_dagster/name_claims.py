"""The names one code location's specs claim: Dagster wants each job, schedule and sensor name
once per location, and each asset may take its values outside spec jobs from one
``asset_defaults`` spec. Several specs folders (the ``NexusJobsComponent`` instances of a ``dg``
project) and the Python code beside them share one :class:`NameClaims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nexus_dagster.errors import NexusSpecError, SpecProblem
from nexus_dagster.spec import JobSpec
from nexus_dagster.spec_entries import entry_names

_DEFAULTS = "asset_defaults"


class NameClaims:
    """The job, schedule and sensor names the specs folders of one code location build, and the
    file that builds each: Dagster wants each name once per location. The assets of
    ``asset_defaults`` specs are claimed too: one such spec per asset."""

    def __init__(self) -> None:
        # (kind, name) -> (owner, who has it, as messages say); owner "" is Python code
        self._owners: dict[tuple[str, str], tuple[str, str]] = {}

    def reserve_python(
        self, jobs: Sequence[Any], entries: Sequence[Any], where: str = "given to build_definitions"
    ) -> None:
        """The names of the jobs, schedules and sensors defined in Python beside the specs
        (``where``: how messages say where they come from)."""
        for job in jobs:
            self._owners[("job", job.name)] = ("", f"the Python job `{job.name}` {where}")
        for entry in entries:
            self._owners[("schedule or sensor", entry.name)] = (
                "",
                f"the Python schedule or sensor `{entry.name}` {where}",
            )

    def conflicts(self, specs: Sequence[JobSpec], owner: str) -> list[SpecProblem]:
        """The problems of ``specs`` (loaded for ``owner``) whose names another owner already
        has, each also recorded on its spec."""
        found: list[SpecProblem] = []
        for spec, name, key in _wanted(specs):
            first = self._owners.get(name)
            if first is None or first[0] == owner:
                continue
            if name[0] == _DEFAULTS:
                message = (
                    f"asset `{name[1]}` already takes its values outside spec jobs from the "
                    f"`asset_defaults` spec {first[1]}, in another specs folder of this code "
                    "location; set `asset_defaults: true` in only one of them"
                )
            elif not first[0]:
                message = (
                    f"{name[0]} name `{name[1]}` is already used by {first[1]} of this code "
                    "location; Dagster wants each name once: rename one of them"
                )
            else:
                message = (
                    f"{name[0]} name `{name[1]}` is already used by {first[1]}, in another specs "
                    "folder of this code location; names must be unique across them"
                )
            spec.problem(key, message)
            found.append(spec.problems[-1])
        return found

    def record(self, specs: Sequence[JobSpec], owner: str) -> None:
        """The names of ``specs`` (built for ``owner``) are taken."""
        for spec, name, _ in _wanted(specs):
            self._owners[name] = (owner, str(spec.path))

    def claim(self, specs: Sequence[JobSpec], folder: Path, owner: str) -> None:
        """:meth:`conflicts`, then :meth:`record`; raises :class:`NexusSpecError` naming each
        spec with a problem instead of recording."""
        self.conflicts(specs, owner)
        problems = [problem for spec in specs for problem in spec.problems]
        if problems:
            raise NexusSpecError(problems, specs_dir=str(folder))
        self.record(specs, owner)

    def job_names(self) -> set[str]:
        """Every job name taken."""
        return {name for kind, name in self._owners if kind == "job"}


def _wanted(specs: Sequence[JobSpec]) -> list[tuple[JobSpec, tuple[str, str], list[Any]]]:
    """The names each spec takes, and the key of the spec file each comes from."""
    wanted: list[tuple[JobSpec, tuple[str, str], list[Any]]] = []
    for spec in specs:
        wanted.append((spec, ("job", spec.name), ["name"] if spec.model.name else []))
        for kind, index, entry_name in entry_names(spec):
            wanted.append((spec, ("schedule or sensor", entry_name), [kind, index]))
        if spec.model.asset_defaults:
            wanted += [(spec, (_DEFAULTS, a), ["asset_defaults"]) for a in spec.selected]
    return wanted

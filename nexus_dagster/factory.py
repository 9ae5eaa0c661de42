"""The job factory: ``build_definitions`` loads a specs folder and wires the pieces together:
jobs (``jobs``), their schedules and file sensors (``automation``), and the ``params`` resource.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.asset_defaults import SpecIndex
from nexus_dagster.automation import (
    EntrySections,
    build_schedule,
    build_sensor,
    entry_section_problems,
    entry_sections,
)
from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.errors import NexusSpecError
from nexus_dagster.jobs import build_job
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams
from nexus_dagster.spec import JobSpec, entry_names, gc_paused, load_checked_specs

SPECS_DIR_METADATA = "nexus/specs_dir"
"""Key of the built ``Definitions``' metadata that holds the specs folder (for the CLI)."""


def build_definitions(
    specs_dir: str | Path,
    *,
    assets: Sequence[AssetLike],
    resources: Mapping[str, Any] | None = None,
    **definitions_kwargs: Any,
) -> dg.Definitions:
    """Load every spec under ``specs_dir`` and build its job, schedules and sensors, with ``assets``.

    A relative ``specs_dir`` is taken from the folder of the file that calls this function, so
    ``dagster dev -f path/to/definitions.py`` works from any folder. ``params`` is bound to
    :class:`NexusParams` unless ``resources`` binds it. Raises :class:`NexusSpecError` listing
    every problem in every spec, which Dagster shows as the code location's load error.

    Example::

        defs = build_definitions(
            "job_specs",
            assets=[sales_ingestion_asset, marketing_ingestion_asset, report],
        )
    """
    folder = _from_caller(Path(specs_dir))
    # The loaded specs stay out of this frame: Dagster keeps the locals of the frame that first
    # builds a `Definitions` (to resolve type names), which would hold every spec, its YAML and
    # its model for the life of the process.
    claims = NameClaims()
    claims.reserve_python(
        definitions_kwargs.get("jobs", []),
        [*definitions_kwargs.get("schedules", []), *definitions_kwargs.get("sensors", [])],
    )
    built = build_specs_folder(folder, assets, SpecIndex(), claims, owner=str(folder))
    defs = dg.Definitions(
        assets=list(assets),
        jobs=[*built.jobs, *definitions_kwargs.pop("jobs", [])],
        schedules=[*built.schedules, *definitions_kwargs.pop("schedules", [])],
        sensors=[*built.sensors, *definitions_kwargs.pop("sensors", [])],
        resources={
            **(resources or {}),
            RESOURCE_KEY: _params(resources, built.index),
        },
        metadata={
            SPECS_DIR_METADATA: str(folder.resolve()),
            **definitions_kwargs.pop("metadata", {}),
        },
        **definitions_kwargs,
    )
    check_entry_sections(built, folder, assets, defs)
    return defs


@dataclass
class Built:
    """What one specs folder builds: its jobs, schedules and sensors, and (in ``index``) what
    the ``params`` resource must know of them."""

    index: SpecIndex
    jobs: list[UnresolvedAssetJobDefinition] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)
    sections: list[EntrySections] = field(default_factory=list)


def build_specs_folder(
    folder: Path,
    assets: Sequence[AssetLike],
    index: SpecIndex,
    claims: NameClaims | None = None,
    owner: str = "",
) -> Built:
    """Load and check the specs of ``folder`` against ``assets``, build what they define, and
    record the specs and assets in ``index`` (which several folders may share).

    ``claims`` holds the job, schedule and sensor names that other specs folders of the same
    code location already build (the other ``NexusJobsComponent`` instances of a ``dg``
    project; ``owner`` names this one): a spec that reuses one is a problem of that spec.
    Raises :class:`NexusSpecError`.
    """
    built = Built(index)
    with gc_paused():
        try:
            catalog = Catalog(assets)
            specs = load_checked_specs(folder, catalog)
            if claims is not None:
                claims.claim(specs, folder, owner)
        except NexusSpecError as err:
            err.with_assets(assets)
            raise
        for spec in specs:
            job = build_job(spec)
            built.jobs.append(job)
            built.schedules.extend(build_schedule(s, spec, job) for s in spec.schedules)
            built.sensors.extend(build_sensor(s, spec, job) for s in spec.sensors)
            index_spec(index, spec)
            built.sections.extend(entry_sections(spec))
        index.add_assets({name: info.params for name, info in catalog.by_name.items()})
    return built


def index_spec(index: SpecIndex, spec: JobSpec, path: str | None = None) -> None:
    """Record a loaded spec in ``index`` (``path``: its file as messages show it)."""
    index.add_spec(
        spec.name,
        path if path is not None else str(spec.path),
        spec.selected,
        spec.fields,
        partitioned=spec.partitions_def is not None,
        asset_defaults=spec.model.asset_defaults,
    )


def check_entry_sections(
    built: Built, folder: Path, assets: Sequence[AssetLike], defs: dg.Definitions
) -> None:
    """Dagster's own check of the schedules' and sensors' ``run_config:`` against the built
    jobs (``defs`` must hold the jobs and the assets they select)."""
    if built.sections:
        problems = entry_section_problems(defs, built.sections)
        if problems:
            raise NexusSpecError(problems, specs_dir=str(folder)).with_assets(assets)


_DEFAULTS = "asset_defaults"


class NameClaims:
    """The job, schedule and sensor names the specs folders of one code location build, and the
    file that builds each: Dagster wants each name once per location. The assets of
    ``asset_defaults`` specs are claimed too: one such spec per asset."""

    def __init__(self) -> None:
        # (kind, name) -> (owner, who has it, as messages say)
        self._owners: dict[tuple[str, str], tuple[str, str]] = {}

    def reserve_python(self, jobs: Sequence[Any], entries: Sequence[Any]) -> None:
        """The names of the jobs, schedules and sensors defined in Python beside the specs
        (``build_definitions(jobs=..., schedules=..., sensors=...)``)."""
        for job in jobs:
            self._owners[("job", job.name)] = ("", f"the Python job `{job.name}` (`jobs=[...]`)")
        for entry in entries:
            self._owners[("schedule or sensor", entry.name)] = (
                "",
                f"the Python schedule or sensor `{entry.name}`",
            )

    def claim(self, specs: Sequence[JobSpec], folder: Path, owner: str) -> None:
        """Record the names of ``specs`` (loaded from ``folder``, for ``owner``); raises
        :class:`NexusSpecError` naming each spec whose name another owner already has."""
        wanted: list[tuple[JobSpec, tuple[str, str], list[Any]]] = []
        for spec in specs:
            wanted.append((spec, ("job", spec.name), ["name"] if spec.model.name else []))
            for kind, index, entry_name in entry_names(spec):
                wanted.append((spec, ("schedule or sensor", entry_name), [kind, index]))
            if spec.model.asset_defaults:
                wanted += [(spec, (_DEFAULTS, a), ["asset_defaults"]) for a in spec.selected]
        for spec, name, key in wanted:
            first = self._owners.get(name)
            if first is None or first[0] == owner:
                continue
            if name[0] == _DEFAULTS:
                spec.problem(
                    key,
                    f"asset `{name[1]}` already takes its values outside spec jobs from the "
                    f"`asset_defaults` spec {first[1]}, in another specs folder of this code "
                    "location; set `asset_defaults: true` in only one of them",
                )
            elif not first[0]:
                spec.problem(
                    key,
                    f"{name[0]} name `{name[1]}` is already used by {first[1]} of this code "
                    "location; Dagster wants each name once: rename one of them",
                )
            else:
                spec.problem(
                    key,
                    f"{name[0]} name `{name[1]}` is already used by {first[1]}, in another specs "
                    "folder of this code location; names must be unique across them",
                )
        problems = [problem for spec in specs for problem in spec.problems]
        if problems:
            raise NexusSpecError(problems, specs_dir=str(folder))
        for spec, name, _ in wanted:
            self._owners[name] = (owner, str(spec.path))


def _params(resources: Mapping[str, Any] | None, index: SpecIndex) -> Any:
    # A `params` the caller binds is kept, but a `NexusParams` of theirs still has to know the
    # spec jobs, or a partitioned job's values would be read as nothing at all.
    given = (resources or {}).get(RESOURCE_KEY)
    if given is None:
        return NexusParams.bound_to(index)
    if isinstance(given, NexusParams):
        values = {name: getattr(given, name) for name in NexusParams.model_fields}
        return type(given).bound_to(index, **values)
    return given


def _from_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    caller_file = sys._getframe(2).f_globals.get("__file__")
    return Path(caller_file).resolve().parent / path if caller_file else path

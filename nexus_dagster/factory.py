"""The job factory: ``build_definitions`` loads a specs folder and wires the pieces together:
jobs (``jobs``), their schedules and file sensors (``automation``), and the ``params`` resource.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.automation import (
    EntrySections,
    build_schedule,
    build_sensor,
    entry_section_problems,
    entry_sections,
)
from nexus_dagster.catalog import AssetLike
from nexus_dagster.errors import NexusSpecError
from nexus_dagster.jobs import build_job
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams
from nexus_dagster.spec import gc_paused, load_job_specs

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
    jobs, schedules, sensors, jobs_by_asset, partitioned, sections = _build_all(folder, assets)
    defs = dg.Definitions(
        assets=list(assets),
        jobs=[*jobs, *definitions_kwargs.pop("jobs", [])],
        schedules=[*schedules, *definitions_kwargs.pop("schedules", [])],
        sensors=[*sensors, *definitions_kwargs.pop("sensors", [])],
        resources={
            **(resources or {}),
            RESOURCE_KEY: _params(resources, jobs_by_asset, partitioned),
        },
        metadata={
            SPECS_DIR_METADATA: str(folder.resolve()),
            **definitions_kwargs.pop("metadata", {}),
        },
        **definitions_kwargs,
    )
    if sections:
        problems = entry_section_problems(defs, sections)
        if problems:
            raise NexusSpecError(problems, specs_dir=str(folder)).with_assets(assets)
    return defs


def _build_all(
    folder: Path, assets: Sequence[AssetLike]
) -> tuple[
    list[UnresolvedAssetJobDefinition],
    list[dg.ScheduleDefinition],
    list[dg.SensorDefinition],
    dict[str, list[str]],
    dict[str, Any],
    list[EntrySections],
]:
    jobs = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    jobs_by_asset: dict[str, list[str]] = {}
    partitioned: dict[str, Any] = {}
    sections: list[EntrySections] = []
    with gc_paused():
        try:
            specs = load_job_specs(folder, assets=assets)
        except NexusSpecError as err:
            err.with_assets(assets)
            raise
        for spec in specs:
            job = build_job(spec)
            jobs.append(job)
            schedules.extend(build_schedule(s, spec, job) for s in spec.schedules)
            sensors.extend(build_sensor(s, spec, job) for s in spec.sensors)
            for asset in spec.selected:
                jobs_by_asset.setdefault(asset, []).append(spec.name)
            if spec.partitions_def is not None:
                partitioned[spec.name] = spec.fields
            sections.extend(entry_sections(spec))
    return jobs, schedules, sensors, jobs_by_asset, partitioned, sections


def _params(
    resources: Mapping[str, Any] | None,
    jobs_by_asset: Mapping[str, Sequence[str]],
    partitioned: Mapping[str, Any],
) -> Any:
    # A `params` the caller binds is kept, but a `NexusParams` of theirs still has to know the
    # spec jobs, or a partitioned job's values would be read as nothing at all.
    given = (resources or {}).get(RESOURCE_KEY)
    if given is None:
        return NexusParams.bound_to(jobs_by_asset, partitioned)
    if isinstance(given, NexusParams):
        values = {name: getattr(given, name) for name in NexusParams.model_fields}
        return type(given).bound_to(jobs_by_asset, partitioned, **values)
    return given


def _from_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    caller_file = sys._getframe(2).f_globals.get("__file__")
    return Path(caller_file).resolve().parent / path if caller_file else path

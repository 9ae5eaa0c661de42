"""The job factory: loaded specs become Dagster asset jobs whose run config is one flat mapping,
mapped onto the ``params`` resource with a ``ConfigMapping``; schedules come with them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from nexus_dagster.asset import RESOURCE_KEY
from nexus_dagster.catalog import AssetLike, parse_selection
from nexus_dagster.errors import NexusSpecError
from nexus_dagster.param_types import ParamType
from nexus_dagster.resource import NexusParams
from nexus_dagster.rules import JobField, to_resource_config
from nexus_dagster.spec import JobSpec, ScheduleSpec, load_job_specs

SPECS_DIR_METADATA = "nexus/specs_dir"
"""Key of the built ``Definitions``' metadata that holds the specs folder (for the CLI)."""

_SCALARS: dict[str, Any] = {
    "string": dg.String,
    "int": dg.Int,
    "float": dg.Float,
    "bool": dg.Bool,
    "any": dg.Any,
}


def dagster_type(ptype: ParamType) -> Any:
    """The Dagster config type of a parameter type.

    A secret is a ``{env: VAR}`` shape, never a scalar: Dagster's type errors echo scalar
    values, and a secret's value must never be echoed.
    """
    if ptype.kind == "secret":
        return dg.Shape({"env": dg.Field(dg.String, description="environment variable name")})
    if ptype.kind == "list":
        assert ptype.item is not None
        item = dagster_type(ptype.item)
        return [item if ptype.item.required else dg.Noneable(item)]
    return _SCALARS[ptype.kind]


def dagster_field(f: JobField) -> dg.Field:
    """The launchpad field of a job field: its type, default, required-ness and description."""
    if f.has_default:
        return dg.Field(
            dagster_type(f.type),
            default_value=f.default,
            is_required=False,
            description=f.description,
        )
    return dg.Field(dagster_type(f.type), is_required=f.required, description=f.description)


def parameter_table(fields: Sequence[JobField]) -> str:
    """A Markdown table of the job's fields, for its description in the UI."""
    rows = ["| field | type | required | default | feeds |", "| --- | --- | --- | --- | --- |"]
    for f in fields:
        default = "" if not f.has_default else f"`{f.default}`"
        if f.type.is_secret and f.has_default:
            default = f"env `{f.default.get('env')}`" if isinstance(f.default, Mapping) else "***"
        feeds = ", ".join(f.assets)
        rows.append(
            f"| `{f.name}` | {f.type.optional} | {'yes' if f.required else 'no'} | {default} "
            f"| {f.scope}: {feeds} |"
        )
    return "\n".join(rows)


def build_job(spec: JobSpec) -> dg.UnresolvedAssetJobDefinition:
    """The Dagster asset job of a loaded spec (loaded with assets)."""
    fields = spec.fields

    def to_run_config(flat: dict[str, Any]) -> dict[str, Any]:
        return {
            "resources": {RESOURCE_KEY: {"config": {"config": to_resource_config(fields, flat)}}}
        }

    selection = spec.model.selection
    description = spec.model.description or f"Job from {spec.path.name}."
    if fields:
        description += "\n\n**Parameters**\n\n" + parameter_table(fields)
    return dg.define_asset_job(
        name=spec.name,
        selection=(
            parse_selection(selection)
            if isinstance(selection, str)
            else dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(s) for s in selection))
        ),
        config=dg.ConfigMapping(
            config_fn=to_run_config,
            config_schema={f.name: dagster_field(f) for f in fields},
        ),
        description=description,
        tags=dict(spec.model.tags),
    )


def build_schedule(
    schedule: ScheduleSpec, job: dg.UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    """A schedule of a spec's job, launching its full flat run config."""
    return dg.ScheduleDefinition(
        name=schedule.name,
        cron_schedule=schedule.cron,
        execution_timezone=schedule.timezone,
        job=job,
        run_config=dict(schedule.run_config),
        default_status=dg.DefaultScheduleStatus[schedule.default_status],
    )


def build_definitions(
    specs_dir: str | Path,
    *,
    assets: Sequence[AssetLike],
    resources: Mapping[str, Any] | None = None,
    **definitions_kwargs: Any,
) -> dg.Definitions:
    """Load every spec under ``specs_dir`` and build its job and schedules, with ``assets``.

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
    try:
        specs = load_job_specs(folder, assets=assets)
    except NexusSpecError as err:
        err.assets = tuple(assets)
        raise
    jobs = []
    schedules: list[dg.ScheduleDefinition] = []
    for spec in specs:
        job = build_job(spec)
        jobs.append(job)
        schedules.extend(build_schedule(s, job) for s in spec.schedules)
    return dg.Definitions(
        assets=list(assets),
        jobs=[*jobs, *definitions_kwargs.pop("jobs", [])],
        schedules=[*schedules, *definitions_kwargs.pop("schedules", [])],
        resources={RESOURCE_KEY: NexusParams(), **(resources or {})},
        metadata={
            SPECS_DIR_METADATA: str(folder.resolve()),
            **definitions_kwargs.pop("metadata", {}),
        },
        **definitions_kwargs,
    )


def _from_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    caller_file = sys._getframe(2).f_globals.get("__file__")
    return Path(caller_file).resolve().parent / path if caller_file else path

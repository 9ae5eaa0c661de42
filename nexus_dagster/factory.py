"""The job factory: loaded specs become Dagster asset jobs whose run config is one flat mapping,
mapped onto the ``params`` resource with a ``ConfigMapping``; schedules come with them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.asset import RESOURCE_KEY
from nexus_dagster.catalog import AssetLike, parse_selection
from nexus_dagster.errors import NexusConfigError, NexusSpecError
from nexus_dagster.param_types import ParamType
from nexus_dagster.resource import DIGEST_TAG, NexusParams
from nexus_dagster.rules import JobField, run_config_from_values, to_resource_config
from nexus_dagster.spec import JobSpec, ScheduleSpec, SensorSpec, gc_paused, load_job_specs
from nexus_dagster.templates import render_sensor

SPECS_DIR_METADATA = "nexus/specs_dir"
"""Key of the built ``Definitions``' metadata that holds the specs folder (for the CLI)."""

JOB_FIELDS: dict[str, tuple[JobField, ...]] = {}
"""The fields of every job built from a spec in this process, by job name (for the run helpers)."""

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


def fields_digest(fields: Sequence[JobField]) -> str:
    """A short digest of everything that decides a run's values: names, types, defaults, keys.

    Comments and descriptions do not change it; a changed default or parameter does.
    """
    canonical = [
        [f.name, str(f.type), f.required, f.default if f.has_default else None, f.key]
        for f in fields
    ]
    payload = json.dumps(canonical, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def build_job(spec: JobSpec) -> UnresolvedAssetJobDefinition:
    """The Dagster asset job of a loaded spec (loaded with assets)."""
    fields = spec.fields

    def to_run_config(flat: dict[str, Any]) -> dict[str, Any]:
        from_spec = [
            f.key for f in fields if f.has_default and f.name in flat and flat[f.name] == f.default
        ]
        resource = {"config": to_resource_config(fields, flat), "from_spec": from_spec}
        return {"resources": {RESOURCE_KEY: {"config": resource}}}

    selection = spec.model.selection
    description = spec.model.description or f"Job from {spec.path.name}."
    if fields:
        description += "\n\n**Parameters**\n\n" + parameter_table(fields)
    JOB_FIELDS[spec.name] = fields
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
        tags={**spec.model.tags, DIGEST_TAG: fields_digest(fields)},
    )


def build_schedule(
    schedule: ScheduleSpec, job: UnresolvedAssetJobDefinition
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


def build_sensor(
    sensor: SensorSpec, spec: JobSpec, job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """A file sensor: one run per file matching the pattern, each keyed by path and mtime.

    The cursor keeps the newest modification time seen and the files that had it, so a tick
    lists only new or rewritten files; the run key (path and mtime) makes Dagster launch a file's
    run at most once even if a cursor is lost.
    """
    fields = spec.fields

    def evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not sensor.directory.is_dir():
            return dg.SkipReason(f"directory {sensor.directory} does not exist")
        state = json.loads(context.cursor) if context.cursor else {}
        last: int = state.get("mtime", 0)
        last_seen: set[str] = set(state.get("seen", []))
        newest, seen_at_newest = last, set(last_seen)
        requests = []
        found = [p for p in sensor.directory.glob(sensor.pattern) if p.is_file()]
        for mtime, path in sorted((p.stat().st_mtime_ns, p) for p in found):
            if mtime < last or (mtime == last and str(path) in last_seen):
                continue
            event = {"path": str(path), "name": path.name}
            values = render_sensor(sensor.parameter_values, event)
            run_config = checked_run_config(spec.name, fields, values)
            requests.append(
                dg.RunRequest(
                    run_key=f"{path}:{mtime}",
                    run_config=run_config,
                    tags={"nexus/sensor_file": str(path)},
                )
            )
            if mtime > newest:
                newest, seen_at_newest = mtime, set()
            seen_at_newest.add(str(path))
        cursor = json.dumps({"mtime": newest, "seen": sorted(seen_at_newest)})
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return dg.SensorDefinition(
        name=sensor.name,
        evaluation_fn=evaluate,
        job=job,
        minimum_interval_seconds=sensor.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus[sensor.default_status],
        description=f"Starts `{spec.name}` for each `{sensor.pattern}` file in {sensor.directory}.",
    )


def checked_run_config(
    job_name: str, fields: Sequence[JobField], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The full flat run config for ``values``; :class:`NexusConfigError` names what is wrong."""
    config, problems = run_config_from_values(fields, values)
    if problems:
        raise NexusConfigError(
            job_name, "; ".join(message for _, message in problems), [n for n, _ in problems]
        )
    return config


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
    jobs, schedules, sensors, jobs_by_asset = _build_all(folder, assets)
    return dg.Definitions(
        assets=list(assets),
        jobs=[*jobs, *definitions_kwargs.pop("jobs", [])],
        schedules=[*schedules, *definitions_kwargs.pop("schedules", [])],
        sensors=[*sensors, *definitions_kwargs.pop("sensors", [])],
        resources={RESOURCE_KEY: NexusParams.bound_to(jobs_by_asset), **(resources or {})},
        metadata={
            SPECS_DIR_METADATA: str(folder.resolve()),
            **definitions_kwargs.pop("metadata", {}),
        },
        **definitions_kwargs,
    )


def _build_all(
    folder: Path, assets: Sequence[AssetLike]
) -> tuple[
    list[UnresolvedAssetJobDefinition],
    list[dg.ScheduleDefinition],
    list[dg.SensorDefinition],
    dict[str, list[str]],
]:
    jobs = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    jobs_by_asset: dict[str, list[str]] = {}
    with gc_paused():
        try:
            specs = load_job_specs(folder, assets=assets)
        except NexusSpecError as err:
            err.assets = tuple(assets)
            raise
        for spec in specs:
            job = build_job(spec)
            jobs.append(job)
            schedules.extend(build_schedule(s, job) for s in spec.schedules)
            sensors.extend(build_sensor(s, spec, job) for s in spec.sensors)
            for asset in spec.selected:
                jobs_by_asset.setdefault(asset, []).append(spec.name)
    return jobs, schedules, sensors, jobs_by_asset


def _from_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    caller_file = sys._getframe(2).f_globals.get("__file__")
    return Path(caller_file).resolve().parent / path if caller_file else path

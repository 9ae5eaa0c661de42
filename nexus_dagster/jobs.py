"""Spec jobs: a loaded spec becomes a Dagster asset job.

An unpartitioned job's run config is one flat mapping (docs/parameters.md) with Dagster's own sections
beside it (docs/spec-format.md), mapped onto the ``params`` resource with a ``ConfigMapping``. A partitioned job
(docs/partitions.md) cannot have a ``ConfigMapping``; its ``PartitionedConfig`` gives each partition the spec's
values under the resource's ``values:``, and the resource checks them when the run starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.catalog import parse_selection
from nexus_dagster.consistent_runs import DIGEST_TAG
from nexus_dagster.errors import NexusConfigError
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.param_types import ParamType
from nexus_dagster.partitioned import describe, values_run_config
from nexus_dagster.resolution import launch, run_config_from_values
from nexus_dagster.rules import SECTIONS, JobField, fields_digest, split_sections
from nexus_dagster.spec import JobSpec


@dataclass(frozen=True)
class SpecJob:
    """What the run helpers need of a job built from a spec: its fields and partitions, the
    digest its job carries in the ``nexus/params_digest`` tag, and the spec's file."""

    name: str
    fields: tuple[JobField, ...]
    partitions_def: dg.PartitionsDefinition | None
    digest: str = ""
    path: str = ""

    @classmethod
    def of(cls, spec: JobSpec, digest: str | None = None) -> SpecJob:
        """The job of a spec loaded with assets (``digest``: its fields' digest, if known)."""
        fields = spec.fields
        digest = digest or fields_digest(fields)
        return cls(spec.name, fields, spec.partitions_def, digest, str(spec.path))

    def same_job(self, other: SpecJob) -> bool:
        """Whether ``other`` builds the same job (the same name, fields and partitions)."""
        return (self.name, self.digest, self.partitions_def) == (
            other.name,
            other.digest,
            other.partitions_def,
        )


_SCALARS: dict[str, Any] = {
    "string": dg.String,
    "int": dg.Int,
    "float": dg.Float,
    "bool": dg.Bool,
    "any": dg.Any,
}

_PARAMS_REFUSED = dg.Enum(
    "NexusParamsTakeFlatNames",
    [dg.EnumValue("GIVE_VALUES_UNDER_THEIR_FLAT_NAMES")],
)
"""The type of ``resources.params`` in a flat run config: nothing a user writes there fits."""
_SECTION_DESCRIPTIONS = {
    "ops": "Dagster's op config, passed through: `{asset: {config: {...}}}` for assets that "
    "take a `dg.Config`.",
    "resources": "Dagster's resource config, passed through (not `params`: its values go "
    "under their flat names).",
    "execution": "Dagster's executor config, passed through, e.g. "
    "`{config: {multiprocess: {max_concurrent: 2}}}`.",
    "loggers": "Dagster's logger config, passed through.",
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


@cache
def section_fields() -> dict[str, dg.Field]:
    """Dagster's own sections at the root of a flat run config, passed through as they are.

    Dagster checks what is in them against the job when the run starts, naming the field;
    ``resources.params`` is refused at launch. Built once: every job's schema shares them.
    """
    fields = {}
    for name in SECTIONS:
        if name == "resources":
            refused = dg.Field(
                _PARAMS_REFUSED,
                is_required=False,
                description="Refused: nexus-dagster sets `params` from the flat names at the root.",
            )
            config_type: Any = dg.Permissive({RESOURCE_KEY: refused})
        else:
            config_type = dg.Permissive()
        fields[name] = dg.Field(
            config_type, is_required=False, description=_SECTION_DESCRIPTIONS[name]
        )
    return fields


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


def spec_defaults(fields: Sequence[JobField]) -> dict[str, Any]:
    """The spec's own value of every field that has one, by flat name."""
    return {f.name: f.default for f in fields if f.has_default}


def build_job(spec: JobSpec) -> UnresolvedAssetJobDefinition:
    """The Dagster asset job of a loaded spec (loaded with assets)."""
    fields = spec.fields
    partitions_def = spec.partitions_def
    description = spec.model.description or f"Job from {spec.path.name}."
    if partitions_def is not None:
        description += (
            f"\n\nPartitioned by {describe(partitions_def)}: each partition's run config holds "
            "the spec's values under `resources.params.config.values`."
        )
    if fields:
        description += "\n\n**Parameters**\n\n" + parameter_table(fields)
    selection = spec.model.selection
    config: dg.ConfigMapping | dg.PartitionedConfig
    if partitions_def is None:
        config = _flat_config_mapping(fields)
    else:
        defaults = spec_defaults(fields)
        config = dg.PartitionedConfig(
            partitions_def=partitions_def,
            run_config_for_partition_key_fn=lambda _key: values_run_config(defaults),
        )
    return dg.define_asset_job(
        name=spec.name,
        selection=(
            parse_selection(selection)
            if isinstance(selection, str)
            else dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(s) for s in selection))
        ),
        config=config,
        description=description,
        tags={**spec.model.tags, DIGEST_TAG: fields_digest(fields)},
    )


def _flat_config_mapping(fields: Sequence[JobField]) -> dg.ConfigMapping:
    def to_run_config(flat: dict[str, Any]) -> dict[str, Any]:
        values, sections = split_sections(flat)
        # Dagster has checked the values against the fields already.
        run = launch(fields, values, require=False)
        from_spec = [f.key for f in fields if f.key in run.from_spec]
        resource = {"config": run.config, "from_spec": from_spec}
        others = {k: v for k, v in sections.pop("resources", {}).items() if k != RESOURCE_KEY}
        return {**sections, "resources": {**others, RESOURCE_KEY: {"config": resource}}}

    return dg.ConfigMapping(
        config_fn=to_run_config,
        config_schema={**{f.name: dagster_field(f) for f in fields}, **section_fields()},
    )


def checked_values(
    job_name: str, fields: Sequence[JobField], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The full flat values for ``values``; :class:`NexusConfigError` names what is wrong."""
    config, problems = run_config_from_values(fields, values)
    if problems:
        raise NexusConfigError(
            job_name, "; ".join(message for _, message in problems), [n for n, _ in problems]
        )
    return config


def spec_run_config(
    job: SpecJob, values: Mapping[str, Any], sections: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The full run config of a spec job for flat ``values`` and Dagster's own ``sections``:
    flat at the root for an unpartitioned job, under ``resources.params.config.values`` for a
    partitioned one. Raises :class:`NexusConfigError` naming unknown, mistyped or missing names.
    """
    return run_config_of(job.partitions_def, checked_values(job.name, job.fields, values), sections)


def run_config_of(
    partitions_def: dg.PartitionsDefinition | None,
    full: Mapping[str, Any],
    sections: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run config of a spec job for its full, checked flat values and Dagster's own
    ``sections``: flat at the root for an unpartitioned job, under
    ``resources.params.config.values`` for a partitioned one."""
    if partitions_def is not None:
        return values_run_config(full, sections)
    return {**full, **(sections or {})}

"""What past runs of spec jobs used (docs/runs.md), read from the Dagster instance of
``DAGSTER_HOME`` as the ``dagster`` CLI reads it.

Two records answer "what did that run use?": the flat values the run was launched with (its
stored run config, docs/parameters.md, docs/partitions.md), and what each asset resolved from them (its materialization's
``nexus/params`` metadata, docs/runs.md). :func:`asset_params` prefers the second and falls back to the
first, resolved by the same rules as a run, for assets that did not materialize.

Example::

    instance = open_instance()
    for run in job_runs(instance, "sales_job", limit=5):
        print(run.run_id, run.status, run.values)
    changed = compare(asset_params(instance, spec, catalog, a), asset_params(instance, spec, catalog, b))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.storage.dagster_run import RunRecord

from nexus_dagster.catalog import Catalog
from nexus_dagster.errors import NexusRunError
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.param_types import ParamType, check_value
from nexus_dagster.resolution import launch, resolve
from nexus_dagster.rules import SECTIONS, JobField, split_sections
from nexus_dagster.run_record import METADATA_KEY, SPEC_METADATA_KEY
from nexus_dagster.spec import JobSpec

PARTITION_TAG = "dagster/partition"
FROM_MATERIALIZATION, FROM_RUN_CONFIG = "materialization", "run config"


@dataclass(frozen=True)
class LaunchedRun:
    """One run of a job, and the flat values it was launched with.

    ``values`` holds the flat names as the run's config gave them (a partitioned job's from
    ``resources.params.config.values``); ``sections`` Dagster's own sections beside them (docs/spec-format.md).
    """

    run_id: str
    job: str
    status: str
    start_time: str | None
    partition: str | None
    values: dict[str, Any]
    sections: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamUse:
    """One parameter an asset used in a run: the value (a secret by its ``{env: VAR}``
    reference), where it came from, the field that supplied it, and which record said so."""

    value: Any
    source: str
    field: str
    secret: bool = False
    origin: str = FROM_MATERIALIZATION


@dataclass(frozen=True)
class RunParams:
    """What each asset of a run used, by asset and parameter, and what could not be read."""

    run: LaunchedRun
    assets: dict[str, dict[str, ParamUse]]
    notes: tuple[str, ...] = ()


# --- the instance ---------------------------------------------------------------------------


def open_instance() -> dg.DagsterInstance:
    """The instance of ``DAGSTER_HOME``, refusing one that does not exist or stores no run.

    Reading must write nothing: Dagster would create the storage of an empty folder, so a folder
    with no runs storage of its own is refused rather than opened.
    """
    home = os.environ.get("DAGSTER_HOME", "").strip()
    if not home:
        raise NexusRunError(
            "DAGSTER_HOME is not set: set it to the folder of the Dagster instance whose runs you "
            "want, as for `dagster dev` and `dagster job launch`"
        )
    folder = Path(home)
    if not folder.is_absolute() or not folder.is_dir():
        raise NexusRunError(
            f"DAGSTER_HOME={home} is not an existing folder given by its absolute path: point it "
            "at the Dagster instance whose runs you want"
        )
    if not _configures_storage(folder) and not (folder / "history" / "runs.db").is_file():
        raise NexusRunError(
            f"DAGSTER_HOME={home} holds no Dagster instance with runs (no history/runs.db and no "
            "storage in dagster.yaml): point it at the instance the runs were launched in"
        )
    return dg.DagsterInstance.get()


def _configures_storage(folder: Path) -> bool:
    path = folder / "dagster.yaml"
    if not path.is_file():
        return False
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return True  # Dagster reports its own file's problems, not this module
    return isinstance(config, Mapping) and bool({"storage", "run_storage"} & set(config))


def _record(instance: dg.DagsterInstance, run_id: str) -> RunRecord:
    record = instance.get_run_record_by_id(run_id) if run_id.strip() else None
    if record is None:
        raise NexusRunError(
            f"no run `{run_id}` in the instance of DAGSTER_HOME: give a run id as "
            "`nexus-dagster runs JOB` or the Dagster UI shows it",
            run_id,
        )
    return record


def launched(instance: dg.DagsterInstance, run_id: str) -> LaunchedRun:
    """The run ``run_id`` and the values it was launched with; unknown ids are refused."""
    return _launched(_record(instance, run_id))


def job_runs(instance: dg.DagsterInstance, job: str, limit: int) -> list[LaunchedRun]:
    """The job's latest ``limit`` runs, newest first."""
    records = instance.get_run_records(filters=dg.RunsFilter(job_name=job), limit=limit)
    return [_launched(record) for record in records]


def _launched(record: RunRecord) -> LaunchedRun:
    run = record.dagster_run
    values, sections = launched_values(run.run_config or {})
    started = record.start_time
    return LaunchedRun(
        run_id=run.run_id,
        job=run.job_name,
        status=run.status.value,
        start_time=datetime.fromtimestamp(started, timezone.utc).isoformat() if started else None,
        partition=run.tags.get(PARTITION_TAG),
        values=values,
        sections=sections,
    )


def launched_values(run_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A spec job's stored run config split into its flat values and Dagster's own sections.

    >>> launched_values({"target_bucket": "t", "execution": {"config": {}}})
    ({'target_bucket': 't'}, {'execution': {'config': {}}})
    >>> launched_values({"resources": {"params": {"config": {"values": {"x": 1}}}, "io": {}}})
    ({'x': 1}, {'resources': {'io': {}}})
    """
    resources = run_config.get("resources")
    own = resources.get(RESOURCE_KEY) if isinstance(resources, Mapping) else None
    config = own.get("config") if isinstance(own, Mapping) else None
    if isinstance(config, Mapping) and isinstance(config.get("values"), Mapping):
        assert isinstance(resources, Mapping)
        others = {k: v for k, v in resources.items() if k != RESOURCE_KEY}
        sections = {k: v for k, v in run_config.items() if k in SECTIONS and k != "resources"}
        if others:
            sections["resources"] = others
        return dict(config["values"]), sections
    return split_sections(run_config)


# --- secrets, by reference only -------------------------------------------------------------


def by_reference(ptype: ParamType, value: Any) -> Any:
    """A secret's value as it may be shown: its ``{env: VAR}`` reference, or ``***`` when it is
    not one (a plain value given by mistake, refused when the run started, is never repeated).

    >>> from nexus_dagster.param_types import parse_type
    >>> by_reference(parse_type("secret!"), {"env": "TOKEN"}), by_reference(parse_type("secret"), "s3cr3t")
    ({'env': 'TOKEN'}, '***')
    """
    return value if check_value(ptype.optional, value) is None else "***"


def shown_values(values: Mapping[str, Any], fields: Sequence[JobField]) -> dict[str, Any]:
    """A run's flat values with every secret field's value shown only by its reference."""
    secret = {f.name: f.type for f in fields if f.type.is_secret}
    return {
        name: by_reference(secret[name], v) if name in secret else v for name, v in values.items()
    }


# --- what each asset used -------------------------------------------------------------------


def asset_params(
    instance: dg.DagsterInstance, run_id: str, spec: JobSpec | None, catalog: Catalog | None
) -> RunParams:
    """What each asset of the run used: from its materialization's ``nexus/params`` metadata,
    else (an asset that did not materialize) from the run's stored config, resolved over the
    spec's current values as a run would resolve them. ``spec`` is the run's job as the specs
    define it now (``None`` when none does: then only materializations are read)."""
    record = _record(instance, run_id)
    run = _launched(record)
    assets: dict[str, dict[str, ParamUse]] = {}
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for event in records:
        materialization = event.event_log_entry.asset_materialization
        if materialization is None:
            continue
        table = materialization.metadata.get(METADATA_KEY)
        if isinstance(table, dg.JsonMetadataValue) and isinstance(table.data, Mapping):
            assets[materialization.asset_key.to_user_string()] = _recorded(table.data)
    notes: list[str] = []
    if spec is None or catalog is None:
        if not assets:
            raise NexusRunError(
                f"run {run_id} recorded no parameters (no asset of it materialized with "
                f"`{METADATA_KEY}` metadata) and its job `{run.job}` is not built from a spec "
                "now, so its run config cannot be read as parameters",
                run_id,
            )
        return RunParams(run, assets, tuple(notes))
    selection = record.dagster_run.asset_selection
    selected = sorted(k.to_user_string() for k in selection) if selection else spec.selected
    rest = [
        a
        for a in selected
        if a not in assets and a in catalog.by_name and catalog.by_name[a].params
    ]
    if rest:
        fallback, problems = _from_run_config(run.values, spec.fields, catalog, rest)
        assets.update(fallback)
        notes.append(
            f"run {run_id}: {', '.join(f'`{a}`' for a in rest)} recorded no parameters (not "
            "materialized in that run): read from its run config over the spec's current values"
        )
        notes.extend(f"run {run_id}: {message}, left out" for _, message in problems)
    return RunParams(run, assets, tuple(notes))


def _recorded(table: Mapping[str, Any]) -> dict[str, ParamUse]:
    used: dict[str, ParamUse] = {}
    for param, item in table.items():
        if not isinstance(item, Mapping):
            continue
        secret = "reference" in item or item.get("value") == "***"
        # The plugin records a secret's reference only once the run has read it as one.
        value = item.get("reference", "***") if secret else item.get("value")
        used[str(param)] = ParamUse(
            value, str(item.get("source", "")), str(item.get("field", "")), secret
        )
    return used


def _from_run_config(
    values: Mapping[str, Any],
    fields: Sequence[JobField],
    catalog: Catalog,
    assets: Sequence[str],
) -> tuple[dict[str, dict[str, ParamUse]], list[tuple[str, str]]]:
    known = {f.name for f in fields}
    given = {k: v for k, v in values.items() if k in known}
    run = launch(fields, given)
    # A required field with no value here is one the run left to the spec: not a problem.
    problems = [(name, message) for name, message in run.problems if name in given]
    problems += [(n, f"`{n}` is not a field of the job now") for n in values if n not in known]
    by_name = {f.name: f for f in fields}
    used: dict[str, dict[str, ParamUse]] = {}
    for asset in assets:
        declared = catalog.by_name[asset].params
        resolved, _ = resolve(asset, declared, run.config, run.from_spec)
        used[asset] = {}
        for param, item in resolved.items():
            ptype = by_name[item.field].type
            secret = declared[param].is_secret or ptype.is_secret
            used[asset][param] = ParamUse(
                by_reference(ptype, item.value) if secret else item.value,
                item.source,
                item.field,
                secret,
                FROM_RUN_CONFIG,
            )
    return used, problems


def compare(
    a: Mapping[str, Mapping[str, ParamUse]], b: Mapping[str, Mapping[str, ParamUse]]
) -> dict[str, dict[str, tuple[ParamUse | None, ParamUse | None]]]:
    """Per asset, each parameter whose value or source differs between two runs (a parameter
    one run has and the other has not differs too). Pure.

    >>> x, y = ParamUse("a", "shared", "p"), ParamUse("b", "shared", "p")
    >>> compare({"s": {"p": x}}, {"s": {"p": x}}), list(compare({"s": {"p": x}}, {"s": {"p": y}}))
    ({}, ['s'])
    """
    changed: dict[str, dict[str, tuple[ParamUse | None, ParamUse | None]]] = {}
    for asset in sorted({*a, *b}):
        left, right = a.get(asset, {}), b.get(asset, {})
        for param in sorted({*left, *right}):
            one, other = left.get(param), right.get(param)
            if (
                one is None
                or other is None
                or (one.value, one.source)
                != (
                    other.value,
                    other.source,
                )
            ):
                changed.setdefault(asset, {})[param] = (one, other)
    return changed


# --- an asset's materializations in any run ------------------------------------------------


@dataclass(frozen=True)
class AssetUse:
    """One materialization of an asset, in any run: the run, its job, the partition, the spec
    whose values it took outside spec jobs (``None`` in a spec's job), and what it used."""

    run_id: str
    job: str
    partition: str | None
    spec: str | None
    values: dict[str, ParamUse]


def asset_uses(instance: dg.DagsterInstance, asset: str, limit: int) -> list[AssetUse]:
    """The latest ``limit`` materializations of ``asset``, newest first, with the parameters
    each recorded (an empty mapping when it recorded none)."""
    result = instance.fetch_materializations(
        dg.AssetKey.from_user_string(asset), limit=limit, ascending=False
    )
    uses = []
    for record in result.records:
        entry = record.event_log_entry
        materialization = entry.asset_materialization
        if materialization is None:
            continue
        metadata = materialization.metadata
        table = metadata.get(METADATA_KEY)
        values = (
            _recorded(table.data)
            if isinstance(table, dg.JsonMetadataValue) and isinstance(table.data, Mapping)
            else {}
        )
        spec = metadata.get(SPEC_METADATA_KEY)
        uses.append(
            AssetUse(
                record.run_id,
                entry.job_name or "",
                materialization.partition,
                str(spec.value) if spec is not None else None,
                values,
            )
        )
    return uses

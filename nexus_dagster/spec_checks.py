"""The checks of job specs: of a file alone, of a spec against the code location's assets
(which gives the job its fields), and of the specs of a folder against each other (job names,
one ``asset_defaults`` spec per asset, values for declarative automation). The checks of
schedules and sensors are in :mod:`nexus_dagster.spec_entries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nexus_dagster.catalog import AssetInfo, Catalog
from nexus_dagster.declarations import declared_params
from nexus_dagster.errors import NexusParamError, NexusSelectionError, SpecProblem
from nexus_dagster.naming import split_name
from nexus_dagster.param_types import TypeStringError, parse_type
from nexus_dagster.partitioned import backfill_problem, placeholder_problems, selection_partitions
from nexus_dagster.resolution import launch, resolve
from nexus_dagster.rules import derive_fields, suggest
from nexus_dagster.spec_entries import check_entries, check_entries_alone
from nexus_dagster.spec_model import DAGSTER_OWN_PREFIX, JOB_NAME_RE, JobSpec
from nexus_dagster.templates import partition_placeholders
from nexus_dagster.typed_params import build_instance, model_of


def check_alone(spec: JobSpec) -> None:
    """Checks that need nothing but the file."""
    model = spec.model
    if not JOB_NAME_RE.match(spec.name):
        if model.name is not None:
            spec.problem(
                ["name"], f"`{spec.name}` is not a valid job name: use letters, digits, `_`"
            )
        else:
            spec.problem(
                [],
                f"the file name `{spec.path.stem}` is not a valid job name (letters, digits, `_`); "
                "rename the file or set `name:`",
            )
    elif spec.name.startswith(DAGSTER_OWN_PREFIX):
        # Dagster's own jobs (`__ASSET_JOB`): a spec of that name would replace the job behind
        # every Materialize button of the location.
        where: list[Any] = ["name"] if model.name is not None else []
        spec.problem(
            where,
            f"`{spec.name}`: names starting with `__` are Dagster's own (`__ASSET_JOB` runs "
            f"the asset graph); {'choose another name' if where else 'rename the file or set `name:`'}",
        )
    if isinstance(model.selection, list) and not model.selection:
        spec.problem(["selection"], "selection is empty; list at least one asset key")
    check_entries_alone(spec)


def check_types_alone(spec: JobSpec) -> None:
    """Without assets: type strings and name forms (with assets, the rules check these)."""
    for name, text in spec.model.params_schema.items():
        try:
            parse_type(text)
        except TypeStringError as err:
            spec.problem(["params_schema", name], str(err))
    for name in spec.model.parameter_values:
        asset, param = split_name(name)
        if asset is not None:
            spec.problem(
                ["parameter_values", name],
                f"prefixed name `{name}` in `parameter_values`: a value for one asset goes "
                f"under `ops_config: {{{asset}: {{{param}: ...}}}}`",
            )


def check_unique_names(specs: list[JobSpec]) -> None:
    """No two specs build a job of the same name."""
    seen: dict[str, JobSpec] = {}
    for spec in specs:
        first = seen.setdefault(spec.name, spec)
        if first is not spec:
            spec.problem(
                ["name"] if spec.model.name else [],
                f"job name `{spec.name}` is already used by {first.path}; give one a "
                "different `name:`",
                shared_with=[first.path],
            )


def check_asset_defaults(specs: list[JobSpec]) -> None:
    """At most one ``asset_defaults`` spec may select an asset."""
    by_asset: dict[str, list[JobSpec]] = {}
    for spec in specs:
        if spec.model.asset_defaults:
            for asset in spec.selected:
                by_asset.setdefault(asset, []).append(spec)
    for asset, owners in by_asset.items():
        if len(owners) < 2:
            continue
        files = ", ".join(str(spec.path) for spec in owners)
        for spec in owners:
            spec.problem(
                ["asset_defaults"],
                f"asset `{asset}` is selected by {len(owners)} `asset_defaults` specs ({files}); "
                "its values outside spec jobs must come from one: set `asset_defaults: true` in "
                "only one of them",
            )


def defaults_specs(specs: Sequence[JobSpec]) -> dict[str, JobSpec]:
    """The ``asset_defaults`` spec of each asset that has one."""
    return {asset: spec for spec in specs if spec.model.asset_defaults for asset in spec.selected}


def unfilled_params(spec: JobSpec | None, asset: AssetInfo) -> list[str]:
    """The required parameters of ``asset`` that a run outside spec jobs with no run config
    leaves without a value: those its ``asset_defaults`` spec (``spec``) gives no value."""
    run = launch(spec.fields if spec is not None else (), {}, require=False)
    return resolve(asset.name, asset.params, run.config)[1]


def check_automation(specs: list[JobSpec], catalog: Catalog, root: Path) -> list[SpecProblem]:
    """An asset with an ``automation_condition`` runs with no run config: each required
    parameter it reads must have a value in its ``asset_defaults`` spec. Returns the problems
    of assets that no spec selects (those of the folder, not of a file)."""
    unselected: list[SpecProblem] = []
    defaults = defaults_specs(specs)
    selecting: dict[str, list[JobSpec]] = {}
    for spec in specs:
        for asset in spec.selected:
            selecting.setdefault(asset, []).append(spec)
    for info in catalog.by_name.values():
        if not info.automated:
            continue
        owner = defaults.get(info.name)
        missing = unfilled_params(owner, info)
        if not missing:
            continue
        listed = ", ".join(f"`{p}`" for p in missing)
        head = (
            f"asset `{info.name}` has an `automation_condition`, and declarative automation "
            f"launches its runs with no run config, so they need a value for {listed}"
        )
        if owner is not None:
            owner.problem(
                ["asset_defaults"],
                f"{head}, which this spec does not give: set "
                + " or ".join(f"`ops_config: {{{info.name}: {{{p}: ...}}}}`" for p in missing),
            )
            continue
        users = selecting.get(info.name, [])
        if users:
            names = ", ".join(f"`{s.name}` ({s.path})" for s in users)
            for spec in users:
                spec.problem(
                    _selection_key(spec, info.name),
                    f"{head}, and no `asset_defaults` spec selects it (specs that select it: "
                    f"{names}): add `asset_defaults: true` to one of them and give the values "
                    "there",
                )
        else:
            message = (
                f"{head}, and no spec selects it: add a spec with `asset_defaults: true` that "
                "selects it and gives the values"
            )
            unselected.append(SpecProblem(str(root), 1, 1, "", message))
    return unselected


def _selection_key(spec: JobSpec, asset: str) -> list[Any]:
    listed = spec.model.selection
    if isinstance(listed, list) and asset in listed:
        return ["selection", listed.index(asset)]
    return ["selection"]


def check_against_assets(spec: JobSpec, catalog: Catalog) -> None:
    """A spec checked against the code location's assets: its selection and partitions, its
    parameters (which give the job its fields), then its schedules and sensors."""
    model = spec.model
    unknown: set[str] = set()
    if isinstance(model.selection, str):
        try:
            selected = catalog.resolve_selection(model.selection)
        except NexusSelectionError as err:
            spec.problem(["selection"], str(err))
            return
        if not selected:
            spec.problem(["selection"], f"selection `{model.selection}` selects no asset")
            return
    else:
        # The assets that exist are still checked when another is unknown, so that one typo
        # does not hide the file's other problems.
        selected = []
        for index, name in enumerate(model.selection):
            if name in catalog.by_name:
                selected.append(name)
            else:
                hint = suggest(name, catalog.by_name)
                spec.problem(["selection", index], f"unknown asset `{name}`{hint}")
                unknown.add(name)
        if not selected:
            return
    spec.selected = tuple(dict.fromkeys(selected))
    infos = [catalog.by_name[name] for name in spec.selected]
    partitions_def, mixed = selection_partitions(infos)
    if mixed:
        spec.problem(["selection"], mixed)
        return
    spec.partitions_def = partitions_def
    several = backfill_problem(infos)
    if several:
        spec.problem(["selection"], several)
        return
    used = {info.name: partition_placeholders(info.config) for info in infos}
    for asset, message in placeholder_problems(infos, used):
        listed = spec.model.selection
        at: list[Any] = ["selection"]
        if isinstance(listed, list) and asset in listed:
            at.append(listed.index(asset))
        spec.problem(at, message)
    fields, rule_problems = derive_fields(
        {name: catalog.by_name[name].params for name in spec.selected},
        params_schema=model.params_schema,
        parameter_values=model.parameter_values,
        ops_config=model.ops_config,
        known_assets=catalog.by_name,
    )
    for problem in rule_problems:
        key = list(problem.key)
        if key[:1] == ["ops_config"] and len(key) > 1 and key[1] in unknown:
            continue  # that asset's name is already reported in `selection`
        spec.problem(problem.key, problem.message)
    if rule_problems or unknown:
        return
    spec.fields = tuple(fields)
    check_entries(spec)


def check_typed_values(spec: JobSpec, catalog: Catalog) -> None:
    """The spec's own values against the models of its typed assets and checks: a value that
    breaks a constraint would fail every run that does not give another, so it is the spec's
    problem, at the value's key.

    Not kept in the cache of checked specs: a model's validators are code, which the cache's
    key does not see."""
    if not spec.fields:
        return
    typed = [(name, t) for name in spec.selected for t in catalog.by_name[name].typed]
    if not typed:
        return
    run = launch(spec.fields, {}, require=False)
    for asset, target in typed:
        model = model_of(target.metadata)
        assert model is not None  # the catalog keeps only targets that declare one
        declared = declared_params(target.owner, target.metadata)
        resolved, _ = resolve(asset, declared, run.config, run.from_spec)
        values = {
            param: _masked(r.value) if declared[param].is_secret else r.value
            for param, r in resolved.items()
        }
        try:
            build_instance(target.owner, model, values, {p: r.field for p, r in resolved.items()})
        except NexusParamError as err:
            found = resolved.get(err.param)
            if found is None:
                continue  # no value in the spec: each run gives one, and is checked then
            at: list[Any] = (
                ["ops_config", asset, err.param]
                if found.field != err.param
                else ["parameter_values", err.param]
            )
            spec.problem(at, f"{err} (the spec's value; runs that do not give another fail)")


def _masked(value: Any) -> Any:
    # A secret's value is read only inside a run; any text stands for it here.
    return [_masked(v) for v in value] if isinstance(value, list) else "***"

"""Parameters on the asset's page (contract §20, docs ``runs.md``): tables that Dagster's UI
renders on an asset's page, so that no one reads YAML or JSON to know what Materialize uses.

- Definition metadata ``nexus/parameters`` on each asset that declares parameters (its checks'
  included): one row per parameter with its type, whether it is required, who declares it, and
  the value a run outside spec jobs resolves for it, with the field and the ``asset_defaults``
  spec it comes from; ``nexus/materialize`` says in a sentence where those values come from,
  or that no ``asset_defaults`` spec gives any and what a run must give instead.
- Materialization (and check evaluation) metadata ``nexus/values``: each value the step used,
  its source and field, beside the ``nexus/params`` record that ``runs`` and ``diff`` read.

The definition tables are built once per load of the code location, from the specs as loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._record import replace

from nexus_dagster.asset_defaults import SpecIndex, values_example
from nexus_dagster.catalog import AssetLike, asset_name
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.param_types import ParamType
from nexus_dagster.resolution import Launch, Resolved, launch, resolve
from nexus_dagster.typed_params import model_defaults, model_of

PARAMETERS_KEY = "nexus/parameters"
"""Definition metadata: the table of an asset's parameters and what Materialize resolves."""
MATERIALIZE_KEY = "nexus/materialize"
"""Definition metadata: where a run outside spec jobs takes the asset's values from."""
VALUES_KEY = "nexus/values"
"""Materialization and check evaluation metadata: the table of the values the step used."""

SECRET = "***"
MODEL_DEFAULT = "model default"

PARAMETERS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("parameter", "string"),
        dg.TableColumn("type", "string"),
        dg.TableColumn("required", "bool"),
        dg.TableColumn("value", "string", description="What Materialize resolves, if anything"),
        dg.TableColumn("field", "string", description="The spec's field that holds the value"),
        dg.TableColumn("spec", "string", description="The asset_defaults spec that gives it"),
        dg.TableColumn("declared by", "string"),
        dg.TableColumn("description", "string"),
    ]
)
VALUES_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("parameter", "string"),
        dg.TableColumn("value", "string"),
        dg.TableColumn("source", "string", description="per-asset, shared or default"),
        dg.TableColumn("field", "string"),
    ]
)


def cell(value: Any, secret: bool = False) -> str:
    """A value as a table cell shows it (on the asset's page and in the CLI's tables): text as
    is, anything else as JSON, a secret as ``***`` and the variable it reads.

    >>> cell("sales-raw"), cell(3), cell(["a", "b"]), cell({"env": "TOKEN"}, secret=True)
    ('sales-raw', '3', '["a", "b"]', '*** (env TOKEN)')
    """
    if secret:
        if isinstance(value, Mapping) and isinstance(value.get("env"), str):
            return f"{SECRET} (env {value['env']})"
        return SECRET
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def values_table(declared: Mapping[str, ParamType], resolved: Mapping[str, Resolved]) -> Any:
    """The ``nexus/values`` table of a materialization: each value, its source and field."""
    rows = [
        dg.TableRecord(
            {
                "parameter": param,
                "value": cell(item.value, declared[param].is_secret),
                "source": item.source,
                "field": item.field,
            }
        )
        for param, item in resolved.items()
    ]
    return dg.MetadataValue.table(rows, schema=VALUES_SCHEMA)


def asset_page_metadata(
    index: SpecIndex, asset: str, launches: dict[str, Launch] | None = None
) -> dict[str, Any]:
    """The definition metadata that shows ``asset``'s parameters on its page: the
    ``nexus/parameters`` table and the ``nexus/materialize`` sentence (nothing when the asset
    and its checks declare no parameter).

    ``launches`` keeps each ``asset_defaults`` spec's values, launched with no run config, for
    the other assets it selects.

    Example::

        asset_page_metadata(index, "sales_ingestion_asset")[MATERIALIZE_KEY]
        # 'Materialize resolves the values of the asset_defaults spec `daily_report_job` ...'
    """
    declared = index.declared.get(asset) or {}
    if not declared:
        return {}
    # What a run outside spec jobs that gives no values resolves (`SpecIndex.values_for`): the
    # spec's values, launched once per spec; with no spec, nothing.
    spec = index.defaults.get(asset)
    config: Mapping[str, Any] = {}
    from_spec: frozenset[str] = frozenset()
    if spec is not None:
        launches = {} if launches is None else launches
        run = launches.get(spec.name)
        if run is None:
            run = launches[spec.name] = launch(spec.fields, {}, require=False)
        config, from_spec = run.config, run.from_spec
    resolved, missing = resolve(asset, declared, config, from_spec)
    declared_by = index.declared_by.get(asset, {})
    # A typed parameter no source gives takes its model's default in the asset's code.
    defaults: dict[str, Any] = {}
    for target in index.typed.get(asset, ()):
        model = model_of(target.metadata)
        if model is not None:
            defaults = {**model_defaults(model), **defaults}
    rows = []
    for param, ptype in declared.items():
        item = resolved.get(param)
        if item is None and param in defaults:
            item = Resolved(defaults[param], MODEL_DEFAULT, "(model default)")
        rows.append(
            dg.TableRecord(
                {
                    "parameter": param,
                    "type": str(ptype.optional),
                    "required": ptype.required,
                    "value": None if item is None else cell(item.value, ptype.is_secret),
                    "field": None if item is None else item.field,
                    "spec": None
                    if item is None or spec is None or item.source == MODEL_DEFAULT
                    else spec.name,
                    "declared by": ", ".join(declared_by.get(param, ("asset",))),
                    "description": ptype.description or None,
                }
            )
        )
    return {
        PARAMETERS_KEY: dg.MetadataValue.table(rows, schema=PARAMETERS_SCHEMA),
        MATERIALIZE_KEY: dg.MetadataValue.text(_materialize_text(index, asset, missing)),
    }


def _materialize_text(index: SpecIndex, asset: str, missing: Sequence[str]) -> str:
    """Where Materialize (any run outside spec jobs) takes ``asset``'s values from."""
    broken = index.broken_defaults.get(asset)
    if broken is not None:
        return (
            f"The asset_defaults spec `{broken.name}` ({broken.path}) selects this asset but has "
            "problems: Materialize and every other run outside spec jobs fail until it is fixed "
            f"({'; '.join(broken.problems)})"
        )
    spec = index.defaults.get(asset)
    needs = ""
    if missing:
        needs = (
            f" Required without a value: {', '.join(f'`{p}`' for p in missing)}; a run must give "
            f"each, for example {values_example(asset, missing[0])}."
        )
    if spec is not None:
        return (
            f"Materialize resolves the values of the asset_defaults spec `{spec.name}` "
            f"({spec.path}), under any a run gives in `resources.params.config.values`.{needs}"
        )
    selecting = index.selecting(asset)
    where = (
        f" Specs that select it: {', '.join(selecting)}; `asset_defaults: true` in one of "
        "them gives Materialize its values."
        if selecting
        else " No spec selects it."
    )
    return (
        "No asset_defaults spec selects this asset: Materialize resolves only the values a run "
        f"gives.{where}{needs}"
    )


def tables_on(assets: Sequence[AssetLike], index: SpecIndex) -> list[AssetLike]:
    """``assets`` with the ``nexus/parameters`` table of each one that declares parameters
    (an ``AssetChecksDefinition``, a ``SourceAsset``: as they are)."""
    launches: dict[str, Launch] = {}
    shown = []
    for asset in assets:
        if isinstance(asset, dg.AssetChecksDefinition) or not isinstance(
            asset, (dg.AssetsDefinition, dg.AssetSpec)
        ):
            shown.append(asset)
            continue
        added: dict[dg.AssetKey | dg.AssetCheckKey, Mapping[str, Any]] = {}
        for spec in [asset] if isinstance(asset, dg.AssetSpec) else asset.specs:
            metadata = asset_page_metadata(index, asset_name(spec.key), launches)
            if metadata:
                added[spec.key] = {**spec.metadata, **metadata}
        if not added:
            shown.append(asset)
        elif isinstance(asset, dg.AssetSpec):
            shown.append(asset.replace_attributes(metadata=added[asset.key]))
        else:
            # One rebuild of the definition for all its assets (Dagster's own, as `map_asset_specs`
            # does it, at two thirds of the cost at 2,000 assets: docs/benchmarks.md).
            shown.append(asset.with_attributes(metadata_by_key=added))
    return shown


def with_parameter_tables(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with each asset's parameters shown as a table on its page (``nexus/parameters``),
    with what Materialize resolves for each.

    :func:`~nexus_dagster.build_definitions` does this on its own. A ``dg`` project's
    ``NexusJobsComponent`` cannot change the assets of the project's other components: the
    project's ``definitions.py`` passes its definitions through this function.

    Example::

        @dg.definitions
        def defs():
            return with_parameter_tables(dg.load_from_defs_folder(path_within_project=HERE))
    """
    params = (defs.resources or {}).get(RESOURCE_KEY)
    index = getattr(params, "index", None)
    if not isinstance(index, SpecIndex) or not index.declared:
        return defs
    return replace(defs, assets=tables_on(list(defs.assets or []), index))

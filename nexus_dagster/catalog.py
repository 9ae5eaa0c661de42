"""The code location's assets as nexus-dagster sees them: each asset's name (its key as Dagster
prints it), what it declares, and how a spec's ``selection`` resolves against them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_selection import KeyWildCardAssetSelection
from dagster._core.definitions.definitions_class import _canonicalize_specs_to_assets_defs

from nexus_dagster.contexts import Target
from nexus_dagster.declarations import declared_config, declared_params
from nexus_dagster.errors import NexusDeclarationError, NexusSelectionError
from nexus_dagster.param_types import ParamType
from nexus_dagster.rules import suggest
from nexus_dagster.typed_params import model_of

AssetLike = Any
"""``dg.AssetsDefinition | dg.AssetSpec | dg.SourceAsset``, as ``Definitions`` takes them, and
``dg.AssetChecksDefinition``: a check's parameters are parameters of its asset."""


@dataclass(frozen=True)
class AssetInfo:
    """One asset: its printed key, its declared parameters and ``nexus/config`` template, and
    the partitions definition it is materialized with (``None``: not partitioned, or not
    materialized by this code location)."""

    name: str
    key: dg.AssetKey
    params: Mapping[str, ParamType]
    config: Any
    partitions_def: dg.PartitionsDefinition | None = None
    backfill_policy: dg.BackfillPolicy | None = None
    automated: bool = False
    """``True`` when the asset has an ``automation_condition`` (declarative automation)."""
    typed: tuple[Target, ...] = ()
    """The asset and its checks that declare their parameters as a model
    (``nexus_asset(params=Model)``)."""
    declared_by: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Who declares each parameter that a check declares: ``asset`` and each check by name
    (a parameter not named here is the asset's alone)."""


def asset_name(key: dg.AssetKey) -> str:
    """An asset key as specs name it: ``raw/sales`` for ``AssetKey(["raw", "sales"])``."""
    return key.to_user_string()


_Partitioning = tuple[dg.PartitionsDefinition | None, dg.BackfillPolicy | None]


def _specs(
    asset: AssetLike,
) -> Iterable[tuple[dg.AssetKey, Mapping[str, Any], _Partitioning, bool]]:
    if isinstance(asset, dg.AssetsDefinition):
        # Only what a job materializes counts for its partitions (Dagster's own rule).
        partitioning = (
            (asset.partitions_def, asset.backfill_policy) if asset.is_executable else (None, None)
        )
        for spec in asset.specs:
            automated = asset.is_executable and spec.automation_condition is not None
            yield spec.key, spec.metadata, partitioning, automated
    elif isinstance(asset, (dg.AssetSpec, dg.SourceAsset)):
        yield asset.key, asset.metadata or {}, (None, None), False


def parse_selection(selection: str) -> dg.AssetSelection:
    """Dagster's own parse of a selection string (``key:a or group:b``)."""
    with warnings.catch_warnings():
        # Dagster's parser passes a beta-flagged argument on its own; users cannot act on it.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.AssetSelection.from_string(selection)


def _check_specs(asset: AssetLike) -> Iterable[dg.AssetCheckSpec]:
    if isinstance(asset, dg.AssetsDefinition):
        yield from asset.check_specs


class Catalog:
    """Every asset of a code location, by name, with the parameters of its checks."""

    def __init__(self, assets: Sequence[AssetLike]) -> None:
        self._assets = list(assets)
        self.by_name: dict[str, AssetInfo] = {}
        for asset in self._assets:
            for key, metadata, (partitions_def, backfill_policy), automated in _specs(asset):
                name = asset_name(key)
                self.by_name[name] = AssetInfo(
                    name,
                    key,
                    declared_params(name, metadata),
                    declared_config(name, metadata),
                    partitions_def,
                    backfill_policy,
                    automated,
                    (Target(key, metadata),) if model_of(metadata) is not None else (),
                )
        for asset in self._assets:
            for check in _check_specs(asset):
                self._add_check(check)

    def _add_check(self, check: dg.AssetCheckSpec) -> None:
        """Make a check's parameters parameters of its asset (a type must agree with the
        asset's own, or another check's, declaration of the same name)."""
        target = Target(check.asset_key, check.metadata or {}, check.key)
        declared = declared_params(target.owner, target.metadata)
        info = self.by_name.get(target.asset)
        model = model_of(target.metadata)
        if info is None or not (declared or model):
            return
        params = dict(info.params)
        declared_by = dict(info.declared_by)
        for param in declared:
            before = declared_by.get(param, ("asset",) if param in params else ())
            declared_by[param] = (*before, f"check {check.name}")
        for param, ptype in declared.items():
            have = params.get(param)
            if have is not None and have.optional != ptype.optional:
                raise NexusDeclarationError(
                    target.owner,
                    f"nexus/params.{param}",
                    f"check `{check.name}` declares `{param}` as `{ptype}`, but asset "
                    f"`{target.asset}` (or another of its checks) declares it as `{have}`: a "
                    "check's parameters are its asset's, so the types must agree",
                )
            if have is None or (ptype.required and not have.required):
                params[param] = ptype
        typed = (*info.typed, target) if model is not None else info.typed
        self.by_name[target.asset] = dataclasses.replace(
            info, params=params, typed=typed, declared_by=declared_by
        )

    @cached_property
    def _graph_assets(self) -> list[dg.AssetsDefinition | dg.SourceAsset]:
        return [
            a
            for a in _canonicalize_specs_to_assets_defs(self._assets)
            if isinstance(a, (dg.AssetsDefinition, dg.SourceAsset))
            and not isinstance(a, dg.AssetChecksDefinition)
        ]

    def resolve_selection(self, selection: str) -> list[str]:
        """The names of the assets a Dagster selection string selects, in catalog order.

        Raises :class:`NexusSelectionError` with Dagster's own message when it is not valid.
        """
        try:
            parsed = parse_selection(selection)
            keys = parsed.resolve(self._graph_assets)
        except Exception as err:  # Dagster raises several types for a bad selection string
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise NexusSelectionError(f"invalid selection `{selection}`: {first_line}") from None
        # Dagster treats `key:x` as a pattern that may match nothing; a spec naming an asset
        # that does not exist is a typo worth reporting.
        for term in _exact_key_terms(parsed):
            if term not in self.by_name:
                hint = suggest(term, self.by_name)
                raise NexusSelectionError(
                    f"selection `{selection}` names unknown asset `{term}`{hint or '.'}"
                )
        names = {asset_name(k) for k in keys}
        return [name for name in self.by_name if name in names]


def _exact_key_terms(selection: dg.AssetSelection) -> Iterable[str]:
    if isinstance(selection, KeyWildCardAssetSelection):
        if "*" not in selection.selected_key_wildcard:
            yield selection.selected_key_wildcard
        return
    for attribute in ("operands", "child", "left", "right"):
        value = getattr(selection, attribute, None)
        children = value if isinstance(value, (list, tuple)) else [value]
        for child in children:
            if isinstance(child, dg.AssetSelection):
                yield from _exact_key_terms(child)


def inspect_selection_params(
    selection: str | Sequence[str], assets: Sequence[AssetLike]
) -> list[str]:
    """The sorted prefixed names ``asset.param`` of every parameter the selected assets declare.

    ``selection`` is a list of asset names or one Dagster selection string.

    Example::

        inspect_selection_params(["sales_ingestion_asset", "marketing_ingestion_asset"], assets)
        # ['marketing_ingestion_asset.source_bucket', 'sales_ingestion_asset.source_bucket', ...]
    """
    catalog = Catalog(assets)
    if isinstance(selection, str):
        names = catalog.resolve_selection(selection)
    else:
        for name in selection:
            if name not in catalog.by_name:
                hint = suggest(name, catalog.by_name)
                raise NexusSelectionError(f"unknown asset `{name}`{hint}")
        names = list(selection)
    return sorted(f"{name}.{p}" for name in names for p in catalog.by_name[name].params)

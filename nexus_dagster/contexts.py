"""The contexts an asset's or a check's code reads its parameters from, and what nexus-dagster
reads of them: which asset (and check) is running, in which job, and whether it runs inside a
run at all or is invoked directly, Dagster's own unit-test path
(``my_asset(dg.build_asset_context(), params=...)``, docs: ``testing.md``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.execution.context.invocation import BaseDirectExecutionContext

from nexus_dagster.errors import NexusParamError

AssetContext = dg.AssetExecutionContext | dg.OpExecutionContext | dg.AssetCheckExecutionContext
"""The contexts an asset's or a check's code reads its parameters from."""

_CHECK_RECORDS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
"""The record of the values a running check resolved, by its op context, until the check's
result carries it (:func:`take_check_record`)."""


@dataclass(frozen=True)
class Target:
    """What reads its parameters: the asset ``key`` whose fields it takes, the ``metadata`` that
    declares them (the asset's, or the check's), and for a check its key."""

    key: dg.AssetKey
    metadata: Mapping[str, Any]
    check: dg.AssetCheckKey | None = None

    @property
    def asset(self) -> str:
        """The asset's name as specs write it."""
        return self.key.to_user_string()

    @property
    def owner(self) -> str:
        """What declares the parameters, as messages name it."""
        return self.asset if self.check is None else f"{self.asset}:{self.check.name}"

    @property
    def who(self) -> str:
        return (
            f"asset `{self.asset}`"
            if self.check is None
            else f"check `{self.check.name}` of asset `{self.asset}`"
        )


def is_direct(context: AssetContext) -> bool:
    """Whether the asset or check is invoked directly (no run, no job), as unit tests do."""
    inner = getattr(context, "op_execution_context", context)
    return isinstance(context, BaseDirectExecutionContext) or isinstance(
        inner, BaseDirectExecutionContext
    )


def job_of(context: AssetContext) -> str | None:
    """The job of the run, or ``None`` when the asset or check is invoked directly."""
    # A check's context has no `job_name`; every context has the run.
    return None if is_direct(context) else context.run.job_name


def target_of(context: AssetContext, asset_key: str | dg.AssetKey | None) -> Target:
    """The asset (or check) whose parameters ``context``'s code reads; ``asset_key`` says which
    where a step materializes several assets or runs several checks."""
    key = dg.AssetKey.from_user_string(asset_key) if isinstance(asset_key, str) else asset_key
    if isinstance(context, dg.AssetCheckExecutionContext):
        specs = [s for s in context.check_specs if key is None or s.asset_key == key]
        if len(specs) != 1:
            raise NexusParamError(
                "", "", "this step runs several checks; pass `asset_key=` to say whose"
            )
        spec = specs[0]
        return Target(spec.asset_key, spec.metadata or {}, spec.key)
    if key is None:
        keys = list(context.selected_asset_keys)
        if len(keys) != 1:
            raise NexusParamError(
                "", "", "this step materializes several assets; pass `asset_key=` to say which"
            )
        key = keys[0]
    return Target(key, context.assets_def.specs_by_key[key].metadata)


def op_context_of(context: AssetContext) -> Any:
    """The op context under an asset's or a check's context (an op's is its own)."""
    return getattr(context, "op_execution_context", context)


def keep_check_record(context: AssetContext, record: Mapping[str, Any]) -> None:
    """Keep the record of a check's values for its result (checks have no output metadata)."""
    _CHECK_RECORDS[getattr(context, "op_execution_context", context)] = dict(record)


def take_check_record(context: Any) -> dict[str, Any]:
    """The record :func:`keep_check_record` kept for this check's step, once."""
    return _CHECK_RECORDS.pop(getattr(context, "op_execution_context", context), {})

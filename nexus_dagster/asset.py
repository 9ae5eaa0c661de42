"""``nexus_asset``: ``dg.asset`` with the parameter declarations filled in (docs/parameters.md)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

import dagster as dg

from nexus_dagster.declarations import CONFIG_KEY, PARAMS_KEY, declared_params
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams


@overload
def nexus_asset(fn: Callable[..., Any]) -> dg.AssetsDefinition: ...


@overload
def nexus_asset(
    fn: None = None,
    *,
    params: Mapping[str, str] | None = None,
    config: Any = None,
    **asset_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]: ...


def nexus_asset(
    fn: Callable[..., Any] | None = None,
    *,
    params: Mapping[str, str] | None = None,
    config: Any = None,
    **asset_kwargs: Any,
) -> Any:
    """``dg.asset`` with ``nexus/params`` and ``nexus/config`` metadata, requiring ``params``.

    Works whether or not the function also takes ``params: NexusParams`` as an argument.
    Declarations are checked when the module is imported.

    Example::

        @nexus_asset(
            params={"min_amount": "float"},
            config={"input": "data/{{ params.target_bucket }}/sales.csv"},
        )
        def report(context: dg.AssetExecutionContext, params: NexusParams) -> None:
            settings = params.render(context)  # {"input": "data/analytics-lake/sales.csv"}
    """
    metadata = dict(asset_kwargs.pop("metadata", None) or {})
    if params is not None:
        metadata[PARAMS_KEY] = dict(params)
    if config is not None:
        metadata[CONFIG_KEY] = config

    def decorate(func: Callable[..., Any]) -> dg.AssetsDefinition:
        declared_params(str(asset_kwargs.get("name") or func.__name__), metadata)
        kwargs = dict(asset_kwargs)
        if not _takes_params_argument(func):
            kwargs["required_resource_keys"] = {
                RESOURCE_KEY,
                *(kwargs.get("required_resource_keys") or ()),
            }
        return dg.asset(metadata=metadata, **kwargs)(func)

    return decorate(fn) if fn is not None else decorate


def _takes_params_argument(func: Callable[..., Any]) -> bool:
    # Dagster injects a resource argument by its annotation; mixing that with
    # `required_resource_keys` is refused, so add the key only when no argument asks for it.
    for parameter in inspect.signature(func).parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, str):
            if annotation.split(".")[-1] == NexusParams.__name__:
                return True
        elif isinstance(annotation, type) and issubclass(annotation, NexusParams):
            return True
    return False

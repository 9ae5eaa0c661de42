"""``nexus_asset`` and ``nexus_asset_check``: ``dg.asset`` and ``dg.asset_check`` with the
parameter declarations filled in (docs: ``parameters.md``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, overload

import dagster as dg
from pydantic import BaseModel

from nexus_dagster.contexts import take_check_record
from nexus_dagster.declarations import CONFIG_KEY, PARAMS_KEY, declared_params
from nexus_dagster.errors import NexusDeclarationError
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams
from nexus_dagster.typed_params import MODEL_KEY, is_model, model_declarations, model_ref

Declaration = Mapping[str, str] | type[BaseModel]
"""What an asset or check declares: a mapping of type strings, or a pydantic model class."""


@overload
def nexus_asset(fn: Callable[..., Any]) -> dg.AssetsDefinition: ...


@overload
def nexus_asset(
    fn: None = None,
    *,
    params: Declaration | None = None,
    config: Any = None,
    **asset_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]: ...


def nexus_asset(
    fn: Callable[..., Any] | None = None,
    *,
    params: Declaration | None = None,
    config: Any = None,
    **asset_kwargs: Any,
) -> Any:
    """``dg.asset`` with ``nexus/params`` and ``nexus/config`` metadata, requiring ``params``.

    ``params`` is a mapping of type strings, or a pydantic model class (a ``dg.Config``
    subclass is one), whose fields are then the declared parameters and whose instance
    ``params.for_asset(context)`` returns. Works whether or not the function also takes
    ``params: NexusParams`` as an argument. Declarations are checked when the module is
    imported.

    Example::

        @nexus_asset(
            params={"min_amount": "float"},
            config={"input": "data/{{ params.target_bucket }}/sales.csv"},
        )
        def report(context: dg.AssetExecutionContext, params: NexusParams) -> None:
            settings = params.render(context)  # {"input": "data/analytics-lake/sales.csv"}

        class Ingest(dg.Config):
            source_bucket: str = Field(description="Folder the exports land in")
            batch_size: int = Field(500, gt=0)

        @nexus_asset(params=Ingest)
        def sales(context: dg.AssetExecutionContext, params: NexusParams) -> None:
            config = params.for_asset(context, model=Ingest)
            read(config.source_bucket, batch=config.batch_size)
    """

    def decorate(func: Callable[..., Any]) -> dg.AssetsDefinition:
        name = str(asset_kwargs.get("name") or func.__name__)
        metadata = _declaring(name, asset_kwargs.pop("metadata", None), params, config)
        kwargs = _requiring_params(func, asset_kwargs)
        return dg.asset(metadata=metadata, **kwargs)(func)

    return decorate(fn) if fn is not None else decorate


def nexus_asset_check(
    *,
    asset: Any,
    params: Declaration | None = None,
    **check_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetChecksDefinition]:
    """``dg.asset_check`` on ``asset`` with a ``nexus/params`` declaration, requiring ``params``.

    The check's parameters are parameters of its asset: fields of every spec job that selects
    the asset (``asset.max_rows``, or a shared ``max_rows``), and the asset's ``asset_defaults``
    spec's values in runs outside spec jobs. ``params.for_asset(context)`` inside the check
    returns them resolved; the check's result carries the record of the values it used, as a
    materialization does.

    Example::

        @nexus_asset_check(asset=sales_ingestion_asset, params={"max_rows": "int!"})
        def sales_row_limit(
            context: dg.AssetCheckExecutionContext, params: NexusParams
        ) -> dg.AssetCheckResult:
            limit = params.for_asset(context)["max_rows"]
            return dg.AssetCheckResult(passed=count_rows() <= limit)
    """

    def decorate(func: Callable[..., Any]) -> dg.AssetChecksDefinition:
        name = str(check_kwargs.get("name") or func.__name__)
        metadata = _declaring(name, check_kwargs.pop("metadata", None), params, None)
        kwargs = _requiring_params(func, check_kwargs)
        return dg.asset_check(asset=asset, metadata=metadata, **kwargs)(_recording(func))

    return decorate


def _declaring(
    owner: str, metadata: Mapping[str, Any] | None, params: Declaration | None, config: Any
) -> dict[str, Any]:
    """The metadata with the declaration filled in, checked."""
    filled = dict(metadata or {})
    if isinstance(params, type) and is_model(params):
        filled[PARAMS_KEY] = model_declarations(owner, params)
        filled[MODEL_KEY] = model_ref(params)
    elif isinstance(params, Mapping):
        filled[PARAMS_KEY] = dict(params)
    elif params is not None:
        raise NexusDeclarationError(
            owner, PARAMS_KEY, "`params` takes a mapping of type strings or a pydantic model class"
        )
    if config is not None:
        filled[CONFIG_KEY] = config
    declared_params(owner, filled)
    return filled


def _requiring_params(func: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    # Dagster injects a resource argument by its annotation; mixing that with
    # `required_resource_keys` is refused, so add the key only when no argument asks for it.
    kwargs = dict(kwargs)
    if not _takes_params_argument(func):
        kwargs["required_resource_keys"] = {
            RESOURCE_KEY,
            *(kwargs.get("required_resource_keys") or ()),
        }
    return kwargs


def _recording(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` whose check results carry the record of the values ``for_asset`` resolved."""

    def context_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        return next(
            (a for a in (*args, *kwargs.values()) if isinstance(a, dg.AssetCheckExecutionContext)),
            None,
        )

    def with_record(context: Any, result: Any) -> Any:
        if context is None or not isinstance(result, dg.AssetCheckResult):
            return result
        record = take_check_record(context)
        return result.with_metadata({**result.metadata, **record}) if record else result

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def check_events(*args: Any, **kwargs: Any) -> Iterator[Any]:
            context = context_of(args, kwargs)
            for event in func(*args, **kwargs):
                yield with_record(context, event)

        return check_events

    @functools.wraps(func)
    def check(*args: Any, **kwargs: Any) -> Any:
        return with_record(context_of(args, kwargs), func(*args, **kwargs))

    return check


def _takes_params_argument(func: Callable[..., Any]) -> bool:
    for parameter in inspect.signature(func).parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, str):
            if annotation.split(".")[-1] == NexusParams.__name__:
                return True
        elif isinstance(annotation, type) and issubclass(annotation, NexusParams):
            return True
    return False

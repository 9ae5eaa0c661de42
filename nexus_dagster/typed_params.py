"""Typed parameters: a pydantic model (a ``dg.Config`` subclass is one) as the declaration of an
asset or a check (docs: ``parameters.md``, "Typed parameters").

Each field of the model is a declared parameter: its annotation gives the type string
(:func:`model_declarations`), its ``description`` the launchpad field's meaning, and inside the
asset :func:`build_instance` turns the resolved values into an instance of the model, so that
its defaults and constraints apply. The asset's metadata keeps the type strings under
``nexus/params`` (what every other part reads) and the model's import path under
:data:`MODEL_KEY`.

Pure: pydantic, no Dagster, no YAML.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from nexus_dagster.errors import NexusDeclarationError, NexusParamError
from nexus_dagster.naming import is_param_name

MODEL_KEY = "nexus/model"
"""Asset or check metadata: the import path (``module:QualName``) of its parameters' model."""

M = TypeVar("M", bound=BaseModel)

_SCALARS: dict[Any, str] = {str: "string", int: "int", float: "float", bool: "bool"}
_MODELS: dict[str, type[BaseModel]] = {}
"""Every model a declaration named in this process, by :func:`model_ref` (a model defined
inside a function cannot be imported by its path)."""


def model_ref(model: type[BaseModel]) -> str:
    """The path that names ``model`` in metadata, remembered for :func:`model_of`.

    >>> class Ingest(BaseModel):
    ...     batch_size: int = 500
    >>> model_ref(Ingest).endswith(":Ingest")
    True
    """
    ref = f"{model.__module__}:{model.__qualname__}"
    _MODELS[ref] = model
    return ref


def model_of(metadata: Mapping[str, Any]) -> type[BaseModel] | None:
    """The model an asset's or check's metadata names, or ``None`` when it declares none."""
    raw = metadata.get(MODEL_KEY)
    ref = getattr(raw, "value", raw) if raw is not None and not isinstance(raw, str) else raw
    if not isinstance(ref, str):
        return None
    known = _MODELS.get(ref)
    if known is not None:
        return known
    module, _, qualname = ref.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise NexusDeclarationError("", MODEL_KEY, f"`{ref}` is not a pydantic model")
    _MODELS[ref] = found
    return found


def is_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic model class (a ``dg.Config`` subclass is one)."""
    return isinstance(value, type) and issubclass(value, BaseModel)


def model_declarations(owner: str, model: type[BaseModel]) -> dict[str, str]:
    """The ``nexus/params`` declaration of ``model``'s fields: name -> type string.

    ``owner`` (the asset or check) names the error when a field cannot be a parameter.

    >>> class Ingest(BaseModel):
    ...     source_bucket: str
    ...     batch_size: int = 500
    ...     tags: list[str] = []
    ...     limit: int | None
    ...     token: SecretStr
    >>> model_declarations("sales", Ingest)
    {'source_bucket': 'string!', 'batch_size': 'int', 'tags': '[string]', 'limit': 'int', 'token': 'secret!'}
    """
    declared: dict[str, str] = {}
    for name, info in model.model_fields.items():
        param = param_name(name, info.alias)
        key = f"nexus/params.{param}"
        if not is_param_name(param):
            raise NexusDeclarationError(
                owner,
                key,
                f"field `{param}` of model `{model.__qualname__}` is not a parameter name: use "
                "letters, digits and `_`, not starting with a digit",
            )
        try:
            TypeAdapter(info.annotation).json_schema()  # type: ignore[arg-type]
        except Exception as err:  # pydantic raises several types for a type with no JSON form
            raise NexusDeclarationError(
                owner,
                key,
                f"field `{param}` of model `{model.__qualname__}` has type "
                f"`{_shown(info.annotation)}`, which has no JSON form, so no run config can give "
                f"it ({type(err).__name__}); use a type pydantic reads from JSON",
            ) from None
        text, accepts_none = _type_string(info.annotation)
        declared[param] = text + ("!" if info.is_required() and not accepts_none else "")
    return declared


def model_descriptions(model: type[BaseModel]) -> dict[str, str]:
    """Each field's ``description``, by parameter name, for the fields that have one."""
    return {
        param_name(name, info.alias): info.description
        for name, info in model.model_fields.items()
        if info.description
    }


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's default, by parameter name, for the fields that have one (the value the
    model takes when no source gives the parameter one)."""
    return {
        param_name(name, info.alias): info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }


def param_name(field: str, alias: str | None) -> str:
    """The parameter a model field declares: its alias where it has one, else its name."""
    return alias or field


def build_instance(
    owner: str,
    model: type[M],
    values: Mapping[str, Any],
    fields: Mapping[str, str] | None = None,
) -> M:
    """An instance of ``model`` from the resolved ``values`` of ``owner`` (an asset or check);
    a value that no source gave takes the model's default.

    ``fields`` names, for each parameter, the flat field its value came from (``A.p`` or
    ``p``): a value that breaks one of the model's constraints raises
    :class:`NexusParamError` naming that field and pydantic's reason.

    >>> from pydantic import Field
    >>> class Ingest(BaseModel):
    ...     batch_size: int = Field(500, gt=0)
    >>> build_instance("sales", Ingest, {}).batch_size
    500
    >>> try:
    ...     build_instance("sales", Ingest, {"batch_size": 0}, {"batch_size": "sales.batch_size"})
    ... except NexusParamError as err:
    ...     print(err)
    parameter `batch_size` of `sales` (field `sales.batch_size`) breaks a constraint of model `Ingest`: Input should be greater than 0
    """
    data = dict(values)
    for name, info in model.model_fields.items():
        param = param_name(name, info.alias)
        if param not in data and info.is_required() and _type_string(info.annotation)[1]:
            data[param] = None  # a field that takes `None` and has no default is optional here
    try:
        return model(**data)
    except ValidationError as err:
        raise constraint_error(owner, model, err, fields or {}) from None


def constraint_error(
    owner: str, model: type[BaseModel], err: ValidationError, fields: Mapping[str, str]
) -> NexusParamError:
    """The error of a value that breaks ``model``'s constraints: the flat field and pydantic's
    reason (never the value, which may be a secret)."""
    problem = err.errors(include_url=False, include_input=False)[0]
    loc: Sequence[Any] = problem.get("loc") or ("",)
    param = str(loc[0])
    field = fields.get(param)
    where = f"field `{field}`" if field else f"no value from field `{owner}.{param}` or `{param}`"
    return NexusParamError(
        owner,
        param,
        f"parameter `{param}` of `{owner}` ({where}) breaks a constraint of model "
        f"`{model.__qualname__}`: {problem.get('msg', 'invalid value')}",
        names=(field,) if field else (f"{owner}.{param}", param),
    )


def _type_string(annotation: Any) -> tuple[str, bool]:
    """The type string of an annotation (without ``!``), and whether it accepts ``None``."""
    accepts_none = False
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        kept = [a for a in args if a is not type(None)]
        accepts_none = len(kept) < len(args)
        if len(kept) != 1:
            return "any", accepts_none
        annotation, origin = kept[0], get_origin(kept[0])
    if annotation is type(None) or annotation is Any:
        return "any", True
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        inner = _scalar(item)
        return (f"[{inner}]" if inner else "any"), accepts_none
    return _scalar(annotation) or "any", accepts_none


def _scalar(annotation: Any) -> str | None:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is SecretStr:
        return "secret"
    if get_origin(annotation) is Literal:
        kinds = {_SCALARS.get(type(v)) for v in get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 and None not in kinds else None
    return None


def _shown(annotation: Any) -> str:
    return getattr(annotation, "__qualname__", None) or repr(annotation)

"""What an asset or check declares: its ``nexus/params`` and ``nexus/config`` metadata (and the
descriptions of a typed declaration's model, ``nexus/model``), read into parameter types. Pure:
takes a metadata mapping, no Dagster objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nexus_dagster.errors import NexusDeclarationError
from nexus_dagster.naming import is_param_name
from nexus_dagster.param_types import ParamType, TypeStringError, parse_type
from nexus_dagster.templates import placeholders
from nexus_dagster.typed_params import model_descriptions, model_of

PARAMS_KEY = "nexus/params"
CONFIG_KEY = "nexus/config"


def _raw(value: Any) -> Any:
    # Dagster may wrap metadata in a MetadataValue; its payload is `.value`.
    return getattr(value, "value", value) if not isinstance(value, (dict, list, str)) else value


def declared_config(asset: str, metadata: Mapping[str, Any]) -> Any:
    """The asset's ``nexus/config`` template, or ``None`` when it has none."""
    return _raw(metadata.get(CONFIG_KEY))


def declared_params(asset: str, metadata: Mapping[str, Any]) -> dict[str, ParamType]:
    """Every parameter ``asset`` declares, name -> type.

    Placeholders in ``nexus/config`` are declared too, as ``string!`` unless ``nexus/params``
    gives another type.

    >>> declared_params("a", {"nexus/params": {"n": "int"}, "nexus/config": {"u": "{{params.b}}"}})
    {'n': ParamType(kind='int', required=False, item=None), 'b': ParamType(kind='string', required=True, item=None)}
    """
    raw_params = _raw(metadata.get(PARAMS_KEY)) or {}
    if not isinstance(raw_params, Mapping):
        raise NexusDeclarationError(
            asset, PARAMS_KEY, "must be a mapping of parameter name to type string"
        )
    params: dict[str, ParamType] = {}
    for name, type_text in raw_params.items():
        if not isinstance(name, str) or not is_param_name(name):
            raise NexusDeclarationError(
                asset,
                PARAMS_KEY,
                f"invalid parameter name `{name}`: use letters, digits and `_`, "
                "not starting with a digit",
            )
        try:
            params[name] = parse_type(type_text)
        except TypeStringError as err:
            raise NexusDeclarationError(asset, f"{PARAMS_KEY}.{name}", str(err)) from None
    for name in placeholders(declared_config(asset, metadata)):
        params.setdefault(name, ParamType("string", required=True))
    model = model_of(metadata)
    if model is not None:
        for name, text in model_descriptions(model).items():
            if name in params:
                params[name] = dataclasses.replace(params[name], description=text)
    return params

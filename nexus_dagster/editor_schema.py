"""The JSON Schema of a spec file, for editors (``nexus-dagster schema [--assets]``).

Without assets it says what the file alone can tell (keys, type strings). With the code
location's assets (docs/runs.md) it also knows the names: ``selection`` items from the asset
keys, the names ``A.p`` and ``p`` the assets declare under ``params_schema``,
``parameter_values`` and ``ops_config``, and each value's JSON type from its parameter type,
so an editor completes names and flags a typo'd asset, an undeclared name or a wrong type.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.naming import prefixed
from nexus_dagster.param_types import ParamType
from nexus_dagster.spec_model import JobSpecModel

TYPE_PATTERN = r"^\s*(\[\s*)*(string|int|float|bool|any|secret)\s*!?(\s*\]\s*!?)*\s*$"
"""What a type string looks like (docs/parameters.md), as a regular expression an editor can check."""

SECRET_REFERENCE: dict[str, Any] = {
    "type": "object",
    "properties": {"env": {"type": "string", "description": "the environment variable to read"}},
    "required": ["env"],
    "additionalProperties": False,
}
"""A secret's only form, ``{env: VAR}`` (docs/security.md)."""

_JSON_TYPES = {"string": "string", "int": "integer", "float": "number", "bool": "boolean"}


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, from the files' own model.

    >>> spec_json_schema()["properties"]["selection"]["anyOf"][0]["type"]
    'array'
    """
    schema = JobSpecModel.model_json_schema()
    types = schema.get("properties", {}).get("params_schema", {})
    if isinstance(types.get("additionalProperties"), dict):
        types["additionalProperties"]["pattern"] = TYPE_PATTERN
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nexus-dagster job spec",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def value_schema(ptype: ParamType) -> dict[str, Any]:
    """The JSON Schema of one value of a parameter type.

    >>> from nexus_dagster.param_types import parse_type
    >>> value_schema(parse_type("[int]!"))
    {'type': 'array', 'items': {'type': 'integer'}}
    >>> value_schema(parse_type("secret"))["required"]
    ['env']
    """
    if ptype.kind == "list":
        assert ptype.item is not None
        return {"type": "array", "items": value_schema(ptype.item)}
    if ptype.kind == "secret":
        return copy.deepcopy(SECRET_REFERENCE)
    if ptype.kind == "any":
        return {}
    return {"type": _JSON_TYPES[ptype.kind]}


def assets_json_schema(assets: Sequence[AssetLike]) -> dict[str, Any]:
    """The spec file's JSON Schema knowing the code location's assets.

    Example::

        schema = assets_json_schema(defs_assets)
        schema["properties"]["ops_config"]["properties"]["sales_ingestion_asset"]
    """
    catalog = Catalog(assets)
    declared = {name: dict(info.params) for name, info in sorted(catalog.by_name.items())}
    shared: dict[str, list[ParamType]] = {}
    for params in declared.values():
        for param, ptype in params.items():
            shared.setdefault(param, []).append(ptype)

    def described(schema: dict[str, Any], text: str) -> dict[str, Any]:
        return {**schema, "description": text}

    def one_of(types: Iterable[ParamType]) -> dict[str, Any]:
        choices: list[dict[str, Any]] = []
        for ptype in types:
            schema = value_schema(ptype.optional)
            if schema not in choices:
                choices.append(schema)
        return choices[0] if len(choices) == 1 else {"anyOf": choices}

    def feeds(param: str) -> str:
        names = [a for a, params in declared.items() if param in params]
        return f"shared by the job; declared by {', '.join(names)}"

    shared_values = {
        param: described(one_of(types), feeds(param)) for param, types in sorted(shared.items())
    }
    prefixed_values = {
        prefixed(asset, param): described(value_schema(ptype.optional), f"{asset} only ({ptype})")
        for asset, params in declared.items()
        for param, ptype in sorted(params.items())
    }
    type_string = {"type": "string", "pattern": TYPE_PATTERN}
    schema = spec_json_schema()
    props = schema["properties"]
    props["selection"] = {
        "anyOf": [
            {"type": "array", "items": {"enum": list(declared)}},
            {"type": "string", "description": "a Dagster asset selection string"},
        ],
        "title": "Selection",
    }
    both = {**shared_values, **prefixed_values}
    props["params_schema"] = _closed(
        props["params_schema"],
        {name: described(type_string, value["description"]) for name, value in both.items()},
    )
    props["parameter_values"] = _closed(props["parameter_values"], shared_values)
    props["ops_config"] = _closed(
        props["ops_config"],
        {
            asset: _closed(
                {"type": "object"},
                {p: value_schema(t.optional) for p, t in sorted(params.items())},
            )
            for asset, params in declared.items()
            if params
        },
    )
    for model in ("ScheduleModel", "SensorModel"):
        entry = schema["$defs"][model]["properties"]
        if model == "SensorModel":
            # A sensor's values are templates over the file it saw ({{sensor.path}}): text too.
            values = {n: {"anyOf": [s, {"type": "string"}]} for n, s in both.items()}
        else:
            values = both
        entry["parameter_values"] = _closed(entry["parameter_values"], values)
    schema["title"] = "nexus-dagster job spec (with the code location's assets)"
    return schema


def _closed(base: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` taking exactly ``properties`` (an editor completes them, flags any other)."""
    keep = {k: v for k, v in base.items() if k not in ("additionalProperties", "properties")}
    return {**keep, "type": "object", "properties": dict(properties), "additionalProperties": False}

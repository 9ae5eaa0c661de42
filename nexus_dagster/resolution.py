"""Where each value an asset reads comes from: the order of sources, stated once.

A spec job's run config is one flat mapping of fields (docs: ``parameters.md``). Inside asset
``A``, a declared parameter ``p`` takes its value from the first source in :data:`SOURCES` that
has one:

1. ``per-asset``: A's own field ``A.p``, the run's value, else the spec's ``ops_config``;
2. ``shared``: the shared field ``p``, the run's value, else the spec's ``parameter_values``;

and is absent otherwise (an error when it is required). A value is recorded with the source
``default`` (:data:`SPEC_VALUE`) when it is the spec's own value for its field, whether the run
left the field out or gave that same value: Dagster fills a field's default into the run config
before the job sees it, so the two cannot be told apart when the run starts, and every reader
decides alike. The ``params`` resource, ``nexus-dagster render``, a materialization's
``nexus/params`` record and ``nexus-dagster runs``/``diff`` all take their sources from
:func:`launch` and :func:`resolve`.

Pure: no Dagster, no YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from nexus_dagster.naming import ops_key, prefixed
from nexus_dagster.param_types import ParamType, check_value
from nexus_dagster.rules import PER_ASSET, SHARED, JobField, suggest

SPEC_VALUE: Final = "default"
"""The source of a value that is the spec's own for its field."""

SOURCES: Final = (PER_ASSET, SHARED)
"""The fields an asset reads a parameter from, first match wins."""


@dataclass(frozen=True)
class Resolved:
    """A value an asset resolved, where it came from, and the field that holds it."""

    value: Any
    source: str
    field: str


@dataclass(frozen=True)
class Launch:
    """A run's values laid over the spec's, in the ``params`` resource's form.

    ``config`` holds each shared value under its simple name and each per-asset value under its
    ``__nexus_ops__`` key; ``from_spec`` the keys whose value is the spec's own; ``flat`` the full
    flat run config; ``problems`` ``(name, message)`` for each name or value that does not fit.
    """

    config: dict[str, Any]
    from_spec: frozenset[str]
    flat: dict[str, Any]
    problems: list[tuple[str, str]]


def launch(fields: Iterable[JobField], given: Mapping[str, Any], *, require: bool = True) -> Launch:
    """The run's values ``given`` (flat names) laid over the spec's, checked.

    >>> from nexus_dagster.param_types import parse_type as t
    >>> from nexus_dagster.rules import derive_fields
    >>> fields, _ = derive_fields({"a": {"x": t("int")}}, parameter_values={"x": 1})
    >>> run = launch(fields, {"a.x": 2})
    >>> run.config, sorted(run.from_spec)
    ({'x': 1, '__nexus_ops__a__x': 2}, ['x'])
    """
    fields = tuple(fields)
    flat, problems = run_config_from_values(fields, given, require=require)
    return Launch(
        to_resource_config(fields, flat), frozenset(spec_valued_keys(fields, flat)), flat, problems
    )


def resolve(
    asset: str,
    declared: Mapping[str, ParamType],
    config: Mapping[str, Any],
    from_spec: Iterable[str] = (),
) -> tuple[dict[str, Resolved], list[str]]:
    """Resolve every parameter ``asset`` declares from the resource's ``config``, in the order
    of :data:`SOURCES`; a value under a key in ``from_spec`` is the spec's own (:data:`SPEC_VALUE`).

    Returns the resolved values and the names of required parameters left without one.

    >>> from nexus_dagster.param_types import parse_type as t
    >>> values, missing = resolve("a", {"x": t("int"), "y": t("string!")},
    ...                           {"x": 1, "__nexus_ops__a__x": 2})
    >>> values["x"], missing
    (Resolved(value=2, source='per-asset', field='a.x'), ['y'])
    >>> resolve("a", {"x": t("int")}, {"x": 1}, from_spec={"x"})[0]["x"].source
    'default'
    """
    spec_keys = frozenset(from_spec)
    resolved: dict[str, Resolved] = {}
    missing: list[str] = []
    for param, ptype in declared.items():
        where = {PER_ASSET: (ops_key(asset, param), prefixed(asset, param)), SHARED: (param, param)}
        for source in SOURCES:
            key, name = where[source]
            if key in config:
                origin = SPEC_VALUE if key in spec_keys else source
                resolved[param] = Resolved(config[key], origin, name)
                break
        else:
            if ptype.required:
                missing.append(param)
    return resolved, missing


def run_config_from_values(
    fields: Iterable[JobField], values: Mapping[str, Any], *, require: bool = True
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The full flat run config for ``values`` over the fields' defaults, and its problems.

    Problems are ``(name, message)`` pairs: unknown names, wrong types, and (unless
    ``require`` is false) required fields left without a value. Messages never repeat a value.

    >>> from nexus_dagster.param_types import parse_type as t
    >>> from nexus_dagster.rules import derive_fields
    >>> fields, _ = derive_fields({"a": {"n": t("int!")}}, ops_config={"a": {"n": 1}})
    >>> run_config_from_values(fields, {"a.n": 5})
    ({'a.n': 5}, [])
    >>> run_config_from_values(fields, {"a.m": 5})[1]
    [('a.m', 'unknown field `a.m`; did you mean `a.n`?')]
    """
    by_name = {f.name: f for f in fields}
    problems: list[tuple[str, str]] = []
    for name, value in values.items():
        found = by_name.get(name)
        if found is None:
            problems.append((name, f"unknown field `{name}`{suggest(name, by_name)}"))
            continue
        reason = check_value(found.type, value)
        if reason:
            problems.append((name, f"`{name}` does not fit type `{found.type.optional}`: {reason}"))
    config = {f.name: f.default for f in by_name.values() if f.has_default}
    config.update(values)
    for f in by_name.values():
        if require and f.required and f.name not in config:
            problems.append((f.name, f"required field `{f.name}` has no value"))
    return config, problems


def spec_valued_keys(fields: Iterable[JobField], flat: Mapping[str, Any]) -> list[str]:
    """The resource keys of the fields whose value in ``flat`` is the spec's own.

    >>> from nexus_dagster.param_types import parse_type as t
    >>> from nexus_dagster.rules import derive_fields
    >>> fields, _ = derive_fields({"a": {"x": t("int")}}, parameter_values={"x": 1})
    >>> spec_valued_keys(fields, {"x": 1, "a.x": 2}), spec_valued_keys(fields, {"x": 3})
    (['x'], [])
    """
    return [f.key for f in fields if f.has_default and f.name in flat and flat[f.name] == f.default]


def to_resource_config(fields: Iterable[JobField], flat: Mapping[str, Any]) -> dict[str, Any]:
    """Map a flat run config onto the ``params`` resource's ``config`` dict.

    >>> from nexus_dagster.param_types import parse_type as t
    >>> from nexus_dagster.rules import derive_fields
    >>> fields, _ = derive_fields({"a": {"x": t("int")}, "b": {"x": t("int")}}, parameter_values={"x": 1})
    >>> to_resource_config(fields, {"x": 1, "b.x": 2})
    {'x': 1, '__nexus_ops__b__x': 2}
    """
    return {f.key: flat[f.name] for f in fields if f.name in flat}

"""Property tests of the parameter rules: naming round trips, precedence, the invariants of the
fields a job gets, and template rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_dagster.naming import OPS_PREFIX, op_name, ops_key, prefixed, split_name
from nexus_dagster.param_types import ParamType, check_value, parse_type
from nexus_dagster.resolution import resolve, run_config_from_values, to_resource_config
from nexus_dagster.rules import (
    MISSING,
    PER_ASSET,
    SHARED,
    JobField,
    derive_fields,
)
from nexus_dagster.templates import PLACEHOLDER_RE, as_text, placeholders, render

# No example database: runs leave nothing behind in the working tree.
PROPERTY = settings(
    database=None, deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)

PART = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,7}", fullmatch=True)
ASSET = st.lists(PART, min_size=1, max_size=3).map("/".join)
PARAM = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,9}", fullmatch=True)


# ---- naming round trips ------------------------------------------------------------------------


@PROPERTY
@given(asset=ASSET, param=PARAM)
def test_prefixed_name_round_trips_to_asset_and_param(asset: str, param: str) -> None:
    assert split_name(prefixed(asset, param)) == (asset, param)


@PROPERTY
@given(param=PARAM)
def test_simple_name_splits_to_shared(param: str) -> None:
    assert split_name(param) == (None, param)


@PROPERTY
@given(asset=ASSET, param=PARAM)
def test_ops_key_is_prefix_op_name_param(asset: str, param: str) -> None:
    key = ops_key(asset, param)
    assert key == f"{OPS_PREFIX}{op_name(asset)}__{param}"
    assert op_name(asset) == "__".join(asset.split("/"))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@PROPERTY
@given(asset=ASSET, param=PARAM, value=JSONISH, launched=st.none() | JSONISH)
def test_ops_config_value_reaches_asset_under_its_nexus_ops_key(
    asset: str, param: str, value: Any, launched: Any
) -> None:
    # ops_config {A: {p: v}} -> field `A.p` (default v) -> run config -> `__nexus_ops__` key -> A
    fields, problems = derive_fields(
        {asset: {param: ParamType("any")}}, ops_config={asset: {param: value}}
    )
    assert problems == []
    (field,) = fields
    assert (field.name, field.key, field.default) == (
        prefixed(asset, param),
        ops_key(asset, param),
        value,
    )
    launch = {} if launched is None else {field.name: launched}
    flat, problems = run_config_from_values(fields, launch)
    assert problems == []
    config = to_resource_config(fields, flat)
    expected = value if launched is None else launched
    assert config == {ops_key(asset, param): expected}
    values, _ = resolve(asset, {param: ParamType("any")}, config)
    assert values[param].value == expected
    assert (values[param].source, values[param].field) == (PER_ASSET, prefixed(asset, param))


@PROPERTY
@given(
    decls=st.dictionaries(
        st.from_regex(r"[a_]{1,4}(/[a_]{1,3})?", fullmatch=True),
        st.dictionaries(
            st.from_regex(r"[a-b_]{1,4}", fullmatch=True), st.just(ParamType("int")), max_size=3
        ),
        min_size=1,
        max_size=4,
    )
)
def test_colliding_keys_reported_exactly_when_two_fields_share_one(
    decls: dict[str, dict[str, ParamType]],
) -> None:
    # Names built from `a` and `_` collide often: `a__a.a` and `a.a__a` share a key.
    fields, problems = derive_fields(decls)
    keys = [f.key for f in fields]
    collisions = [p for p in problems if "both map to the resource key" in p.message]
    assert bool(collisions) == (len(set(keys)) < len(keys))
    if not collisions:
        by_key = {f.key: f.name for f in fields}
        assert all(
            split_name(name) == (f.assets[0], f.param) for f in fields for name in [by_key[f.key]]
        )


# ---- precedence --------------------------------------------------------------------------------


@PROPERTY
@given(
    assets=st.lists(ASSET, min_size=1, max_size=4, unique_by=op_name),
    param=PARAM,
    shared=st.none() | st.integers(),
    own=st.lists(st.none() | st.integers(), min_size=4, max_size=4),
)
def test_resolve_per_asset_beats_shared_and_shared_only_fills_gaps(
    assets: list[str], param: str, shared: int | None, own: list[int | None]
) -> None:
    config: dict[str, Any] = {} if shared is None else {param: shared}
    for asset, value in zip(assets, own, strict=False):
        if value is not None:
            config[ops_key(asset, param)] = value
    for asset, value in zip(assets, own, strict=False):
        values, missing = resolve(asset, {param: ParamType("int", True)}, config)
        if value is not None:
            assert (values[param].value, values[param].source) == (value, PER_ASSET)
        elif shared is not None:
            assert (values[param].value, values[param].source) == (shared, SHARED)
        else:
            assert values == {} and missing == [param]


# ---- derive_fields invariants ------------------------------------------------------------------

KINDS = ["string", "int", "float", "bool", "any", "[string]", "secret"]


def value_of(kind: str) -> st.SearchStrategy[Any]:
    return {
        "string": st.text(max_size=6),
        "int": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(allow_nan=False) | st.integers(-1000, 1000),
        "bool": st.booleans(),
        "any": JSONISH,
        "[string]": st.lists(st.none() | st.text(max_size=4), max_size=3),
        "secret": st.builds(
            lambda name: {"env": name}, st.from_regex(r"[A-Z]{1,6}", fullmatch=True)
        ),
    }[kind]


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid job: selected assets' declarations and the spec's schema and values.

    One base type per parameter name (as in a real code base), required-ness per asset; schema
    types may add `!` but never drop it, so a launch Dagster accepts feeds every required value.
    """
    names = draw(
        st.lists(st.sampled_from(["p", "q", "r", "s", "t"]), min_size=1, max_size=5, unique=True)
    )
    kind = {name: draw(st.sampled_from(KINDS)) for name in names}
    assets = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9]{0,3}(/[a-z][a-z0-9]{0,3})?", fullmatch=True),
            min_size=1,
            max_size=4,
            unique_by=op_name,
        )
    )
    decls: dict[str, dict[str, ParamType]] = {}
    for asset in assets:
        chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
        decls[asset] = {
            n: parse_type(kind[n] + ("!" if draw(st.booleans()) else "")) for n in chosen
        }
    declared = sorted({n for params in decls.values() for n in params})
    pairs = [(a, n) for a, params in decls.items() for n in params]

    def schema_type(name: str, owners: list[str]) -> str:
        needs = any(decls[a][name].required for a in owners)
        return kind[name] + ("!" if needs or draw(st.booleans()) else "")

    shared = draw(st.lists(st.sampled_from(declared), unique=True)) if declared else []
    params_schema: dict[str, str] = {}
    parameter_values: dict[str, Any] = {}
    for name in shared:
        owners = [a for a in decls if name in decls[a]]
        how = draw(st.sampled_from(["schema", "value", "both"]))
        if how in ("schema", "both"):
            params_schema[name] = schema_type(name, owners)
        if how in ("value", "both"):
            parameter_values[name] = draw(value_of(kind[name]))
    ops_config: dict[str, dict[str, Any]] = {}
    for asset, name in draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []:
        ops_config.setdefault(asset, {})[name] = draw(value_of(kind[name]))
    for asset, name in draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []:
        if name not in shared:
            params_schema[prefixed(asset, name)] = schema_type(name, [asset])
    return {
        "decls": decls,
        "params_schema": params_schema,
        "parameter_values": parameter_values,
        "ops_config": ops_config,
        "shared": shared,
    }


def derived(job: Mapping[str, Any]) -> list[JobField]:
    fields, problems = derive_fields(
        job["decls"],
        params_schema=job["params_schema"],
        parameter_values=job["parameter_values"],
        ops_config=job["ops_config"],
    )
    assert problems == []
    return fields


@PROPERTY
@given(job=jobs())
def test_every_declared_param_fed_by_own_field_or_shared_field(job: dict[str, Any]) -> None:
    fields = derived(job)
    by_name = {f.name: f for f in fields}
    assert len(by_name) == len(fields), "field names are unique"
    assert len({f.key for f in fields}) == len(fields), "resource keys are unique"
    pairs = [(a, p) for a, params in job["decls"].items() for p in params]
    assert len(fields) == len(pairs) + len(job["shared"])
    for asset, param in pairs:
        own = by_name[prefixed(asset, param)]
        assert (own.scope, own.assets, own.key) == (PER_ASSET, (asset,), ops_key(asset, param))
        feeding = [f for f in fields if asset in f.assets and f.param == param]
        if param in job["shared"]:
            # the shared field, and the optional override that takes precedence over it
            assert sorted(f.scope for f in feeding) == [PER_ASSET, SHARED]
            assert own.overrides == param and not own.required
            assert own.default == job["ops_config"].get(asset, {}).get(param, MISSING)
        else:
            assert feeding == [own] and own.overrides is None
    for name in job["shared"]:
        field = by_name[name]
        assert field.scope == SHARED and field.key == name
        assert field.assets == tuple(a for a in job["decls"] if name in job["decls"][a])


@PROPERTY
@given(job=jobs())
def test_required_fields_have_no_default_and_a_required_type(job: dict[str, Any]) -> None:
    for field in derived(job):
        if field.required:
            assert field.default is MISSING
            assert field.type.required
        split = split_name(field.name)
        assert split == (
            (None, field.param) if field.scope == SHARED else (field.assets[0], field.param)
        )


@st.composite
def launches(draw: st.DrawFn) -> tuple[dict[str, Any], list[JobField], dict[str, Any]]:
    job = draw(jobs())
    fields = derived(job)
    chosen = draw(st.lists(st.sampled_from(fields), unique_by=lambda f: f.name)) if fields else []
    kinds = {f.name: str(f.type.optional) for f in fields}
    launch = {f.name: draw(value_of(kinds[f.name])) for f in chosen}
    return job, fields, launch


@PROPERTY
@given(case=launches())
def test_precedence_through_run_config_per_asset_over_shared(
    case: tuple[dict[str, Any], list[JobField], dict[str, Any]],
) -> None:
    job, fields, launch = case
    flat, problems = run_config_from_values(fields, launch)
    config = to_resource_config(fields, flat)
    for asset, declared in job["decls"].items():
        values, missing = resolve(asset, declared, config)
        for param in declared:
            own, shared = prefixed(asset, param), param in job["shared"]
            if own in flat:
                assert values[param].value == flat[own] and values[param].source == PER_ASSET
            elif shared and param in flat:
                assert values[param].value == flat[param] and values[param].source == SHARED
            else:
                assert param not in values
        if not problems:
            # a launch the launchpad accepts leaves no asset without a required value (rule 5)
            assert missing == []


# ---- templates ---------------------------------------------------------------------------------

TEMPLATE_TEXT = st.text(alphabet="{} params.abx_+1-/", max_size=40)


def single_pass(text: str, values: Mapping[str, Any]) -> Any:
    """The placeholder rule of docs/parameters.md spelled out independently: whole-string placeholder typed, else text."""
    whole = PLACEHOLDER_RE.fullmatch(text)
    if whole:
        return values.get(whole.group(1))
    out, last = [], 0
    for match in PLACEHOLDER_RE.finditer(text):
        out += [text[last : match.start()], as_text(values.get(match.group(1)))]
        last = match.end()
    return "".join([*out, text[last:]])


@PROPERTY
@given(
    text=TEMPLATE_TEXT,
    values=st.dictionaries(st.sampled_from(["a", "b", "x"]), TEMPLATE_TEXT | JSONISH),
)
def test_render_is_one_pass_of_plain_substitution(text: str, values: dict[str, Any]) -> None:
    # values may themselves hold placeholders: they come out as they went in
    assert render(text, values) == single_pass(text, values)


@PROPERTY
@given(
    tree=JSONISH.filter(lambda tree: "{{" not in repr(tree)), values=st.dictionaries(PARAM, JSONISH)
)
def test_render_without_placeholders_returns_input(tree: Any, values: dict[str, Any]) -> None:
    assert placeholders(tree) == []
    assert render(tree, values) == tree


@PROPERTY
@given(
    prefix=st.text(alphabet="ab/ {}", max_size=5).filter(lambda s: "{" not in s[-1:]),
    suffix=st.text(alphabet="ab/ {}", max_size=5).filter(lambda s: "}" not in s[:1]),
    value=TEMPLATE_TEXT,
)
def test_inserted_value_is_never_rendered_again(prefix: str, suffix: str, value: str) -> None:
    template = f"{prefix}{{{{params.a}}}}{suffix}"
    other_placeholders = PLACEHOLDER_RE.findall(prefix + " " + suffix)
    if not other_placeholders and (prefix or suffix):
        assert render(template, {"a": value, "b": "SECOND"}) == f"{prefix}{value}{suffix}"
    assert render("{{params.a}}", {"a": value, "b": "SECOND"}) == value


# ---- value checks ------------------------------------------------------------------------------


@PROPERTY
@given(
    kind=st.sampled_from(["int", "float", "bool", "secret", "[int]", "[secret]"]),
    secret=st.text(min_size=1, max_size=12).map(lambda s: f"VALUE{s}END"),
    wrap=st.sampled_from(["bare", "list", "dict"]),
)
def test_check_value_message_never_holds_the_value(kind: str, secret: str, wrap: str) -> None:
    value: Any = {"bare": secret, "list": [secret], "dict": {"env": secret, "x": secret}}[wrap]
    message = check_value(parse_type(kind), value)
    if message is not None:
        assert secret not in message and re.search(r"VALUE.*END", message) is None

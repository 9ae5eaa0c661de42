"""The parameter rules of docs/parameters.md (rules 1-7, resource keys, precedence), one test per
rule or pair of sources, on the pure functions of `nexus_dagster.rules`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from nexus_dagster.naming import ops_key
from nexus_dagster.param_types import ParamType, parse_type
from nexus_dagster.resolution import resolve, run_config_from_values, to_resource_config
from nexus_dagster.rules import (
    MISSING,
    PER_ASSET,
    SHARED,
    JobField,
    RuleProblem,
    derive_fields,
    suggest,
)

t = parse_type


def decls(spec: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, ParamType]]:
    """`{asset: {param: "type"}}` with the types parsed."""
    return {asset: {p: t(text) for p, text in params.items()} for asset, params in spec.items()}


def derive(
    spec: Mapping[str, Mapping[str, str]], **kwargs: Any
) -> tuple[dict[str, JobField], list[RuleProblem]]:
    fields, problems = derive_fields(decls(spec), **kwargs)
    by_name = {f.name: f for f in fields}
    assert len(by_name) == len(fields), "field names must be unique"
    return by_name, problems


def ok(spec: Mapping[str, Mapping[str, str]], **kwargs: Any) -> dict[str, JobField]:
    fields, problems = derive(spec, **kwargs)
    assert problems == []
    return fields


def only_problem(spec: Mapping[str, Mapping[str, str]], **kwargs: Any) -> RuleProblem:
    _, problems = derive(spec, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def resolved_values(
    spec: Mapping[str, Mapping[str, str]], launch: Mapping[str, Any] = {}, **kwargs: Any
) -> dict[str, dict[str, Any]]:
    """What every asset resolves for a launch: flat run config -> resource config -> resolve."""
    fields = list(ok(spec, **kwargs).values())
    flat, problems = run_config_from_values(fields, launch)
    assert problems == []
    config = to_resource_config(fields, flat)
    out: dict[str, dict[str, Any]] = {}
    for asset, declared in decls(spec).items():
        values, missing = resolve(asset, declared, config)
        assert missing == []
        out[asset] = {p: r.value for p, r in values.items()}
    return out


INGEST = {
    "sales": {"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"},
    "marketing": {"source_bucket": "string!", "target_bucket": "string!"},
}


# ---- rule 1: simple names are shared ---------------------------------------------------------


def test_rule1_simple_name_in_params_schema_is_shared() -> None:
    fields = ok(INGEST, params_schema={"target_bucket": "string!"})
    shared = fields["target_bucket"]
    assert shared.scope == SHARED
    assert shared.assets == ("sales", "marketing")
    assert shared.key == "target_bucket"


def test_rule1_simple_name_in_parameter_values_is_shared() -> None:
    fields = ok(INGEST, parameter_values={"target_bucket": "lake"})
    assert fields["target_bucket"].scope == SHARED
    assert fields["target_bucket"].default == "lake"


def test_rule1_shared_only_among_assets_that_declare_it() -> None:
    fields = ok(INGEST, parameter_values={"batch_size": 10})
    assert fields["batch_size"].assets == ("sales",)
    assert "marketing.batch_size" not in fields


def test_rule1_shared_name_needs_a_declaring_asset() -> None:
    problem = only_problem(INGEST, params_schema={"target_buckt": "string"})
    assert problem.key == ("params_schema", "target_buckt")
    assert problem.message == (
        "no selected asset declares parameter `target_buckt`; did you mean `target_bucket`? "
        "Declared: batch_size, source_bucket, target_bucket"
    )


def test_rule1_shared_value_needs_a_declaring_asset() -> None:
    problem = only_problem(INGEST, parameter_values={"zzz": 1})
    assert problem.key == ("parameter_values", "zzz")
    assert problem.message.startswith("no selected asset declares parameter `zzz`. Declared:")


# ---- rule 2: prefixed names and ops_config are per-asset ---------------------------------------


def test_rule2_prefixed_name_in_params_schema_is_per_asset() -> None:
    fields = ok(INGEST, params_schema={"sales.source_bucket": "string!"})
    own = fields["sales.source_bucket"]
    assert (own.scope, own.assets, own.key) == (
        PER_ASSET,
        ("sales",),
        ops_key("sales", "source_bucket"),
    )
    assert "source_bucket" not in fields


def test_rule2_ops_config_value_is_per_asset() -> None:
    fields = ok(INGEST, ops_config={"marketing": {"source_bucket": "mkt-raw"}})
    own = fields["marketing.source_bucket"]
    assert (own.scope, own.default, own.required) == (PER_ASSET, "mkt-raw", False)
    assert "source_bucket" not in fields


RULE2_PROBLEMS = [
    pytest.param(
        {"params_schema": {"report.x": "int"}},
        ("params_schema", "report.x"),
        "asset `report` is not in this job's selection; add it to `selection` or remove this entry",
        id="prefixed-name-unselected-asset",
    ),
    pytest.param(
        {"ops_config": {"report": {"x": 1}}},
        ("ops_config", "report"),
        "asset `report` is not in this job's selection",
        id="ops-config-unselected-asset",
    ),
    pytest.param(
        {"params_schema": {"sales_x.source_bucket": "string"}},
        ("params_schema", "sales_x.source_bucket"),
        "unknown asset `sales_x`; did you mean `sales`?",
        id="prefixed-name-unknown-asset",
    ),
    pytest.param(
        {"ops_config": {"markting": {"source_bucket": "x"}}},
        ("ops_config", "markting"),
        "unknown asset `markting`; did you mean `marketing`?",
        id="ops-config-unknown-asset",
    ),
    pytest.param(
        {"params_schema": {"marketing.batch_size": "int"}},
        ("params_schema", "marketing.batch_size"),
        "asset `marketing` does not declare parameter `batch_size`. It declares: "
        "source_bucket, target_bucket",
        id="prefixed-name-undeclared-param",
    ),
    pytest.param(
        {"ops_config": {"sales": {"batch_sise": 5}}},
        ("ops_config", "sales", "batch_sise"),
        "asset `sales` does not declare parameter `batch_sise`; did you mean `batch_size`? "
        "It declares: source_bucket, target_bucket, batch_size",
        id="ops-config-undeclared-param",
    ),
    pytest.param(
        {"params_schema": {"sales.batch-size": "int"}},
        ("params_schema", "sales.batch-size"),
        "invalid parameter name `batch-size`: use letters, digits and `_`, not starting with a "
        "digit.",
        id="invalid-param-name",
    ),
    pytest.param(
        {"params_schema": {"s\u0430les.batch_size": "int"}},
        ("params_schema", "s\u0430les.batch_size"),
        "unknown asset `s\u0430les`; did you mean `sales`? `s\u0430les` holds the non-ASCII "
        "character U+0430 (CYRILLIC SMALL LETTER A).",
        id="look-alike-asset-name",
    ),
]


@pytest.mark.parametrize(("kwargs", "key", "fragment"), RULE2_PROBLEMS)
def test_rule2_per_asset_names_need_a_selected_asset_that_declares_them(
    kwargs: dict[str, Any], key: tuple[str, ...], fragment: str
) -> None:
    problem = only_problem(INGEST, known_assets=["sales", "marketing", "report"], **kwargs)
    assert problem.key == key
    assert fragment in problem.message


# ---- rule 3: everything else is exposed per asset ----------------------------------------------


def test_rule3_unnamed_declared_params_exposed_as_prefixed_names() -> None:
    fields = ok(INGEST)
    assert list(fields) == [
        "sales.source_bucket",
        "sales.target_bucket",
        "sales.batch_size",
        "marketing.source_bucket",
        "marketing.target_bucket",
    ]
    assert all(f.scope == PER_ASSET and f.overrides is None for f in fields.values())
    assert fields["sales.source_bucket"].required
    assert not fields["sales.batch_size"].required


def test_rule3_asset_with_prefixed_key_uses_printed_key() -> None:
    fields = ok({"raw/sales": {"p": "int"}})
    assert fields["raw/sales.p"].key == "__nexus_ops__raw__sales__p"


def test_rule3_asset_without_params_adds_no_field() -> None:
    assert ok({"plain": {}, "sales": {"x": "int"}}).keys() == {"sales.x"}


# ---- rule 4: optional per-asset override of a shared name ----------------------------------------


def test_rule4_each_declarer_of_shared_name_gets_optional_override() -> None:
    fields = ok(INGEST, parameter_values={"target_bucket": "lake"})
    for asset in ("sales", "marketing"):
        override = fields[f"{asset}.target_bucket"]
        assert override.overrides == "target_bucket"
        assert override.required is False
        assert override.default is MISSING
        assert override.key == ops_key(asset, "target_bucket")


def test_rule4_override_never_required_even_for_required_type() -> None:
    fields = ok(INGEST, params_schema={"source_bucket": "string!"})
    assert fields["source_bucket"].required
    assert not fields["sales.source_bucket"].required
    assert not fields["marketing.source_bucket"].required


# ---- rule 5: defaults and required-ness --------------------------------------------------------


def test_rule5_default_from_parameter_values() -> None:
    fields = ok(INGEST, parameter_values={"target_bucket": "lake"})
    assert fields["target_bucket"].default == "lake"
    assert not fields["target_bucket"].required


def test_rule5_default_from_ops_config() -> None:
    fields = ok(INGEST, ops_config={"sales": {"batch_size": 500}})
    assert fields["sales.batch_size"].default == 500


def test_rule5_required_when_type_required_and_no_default() -> None:
    fields = ok(INGEST, params_schema={"target_bucket": "string!"})
    assert fields["target_bucket"].required
    assert fields["sales.source_bucket"].required


def test_rule5_optional_type_never_required() -> None:
    fields = ok(INGEST, params_schema={"target_bucket": "string"})
    assert not fields["target_bucket"].required


def test_rule5_shared_not_required_when_every_declarer_has_own_value() -> None:
    fields = ok(
        INGEST,
        params_schema={"source_bucket": "string!"},
        ops_config={"sales": {"source_bucket": "s"}, "marketing": {"source_bucket": "m"}},
    )
    assert not fields["source_bucket"].required


def test_rule5_shared_required_when_one_declarer_lacks_own_value() -> None:
    fields = ok(
        INGEST,
        params_schema={"source_bucket": "string!"},
        ops_config={"sales": {"source_bucket": "s"}},
    )
    assert fields["source_bucket"].required


def test_rule5_required_fields_have_no_default() -> None:
    fields = ok(
        INGEST,
        parameter_values={"target_bucket": "lake"},
        ops_config={"sales": {"source_bucket": "s"}},
    )
    assert [f.name for f in fields.values() if f.required] == ["marketing.source_bucket"]
    assert all(not f.has_default for f in fields.values() if f.required)


# ---- rule 6: types -----------------------------------------------------------------------------


def test_rule6_params_schema_type_wins_over_declared() -> None:
    fields = ok(INGEST, params_schema={"sales.batch_size": "int!", "target_bucket": "any"})
    assert str(fields["sales.batch_size"].type) == "int!"
    assert str(fields["target_bucket"].type) == "any"


def test_rule6_declared_type_used_without_params_schema() -> None:
    fields = ok(INGEST, parameter_values={"target_bucket": "lake"})
    assert str(fields["target_bucket"].type) == "string!"
    assert str(fields["sales.batch_size"].type) == "int"


def test_rule6_shared_type_required_when_any_declarer_requires_it() -> None:
    fields = ok({"a": {"p": "int"}, "b": {"p": "int!"}}, parameter_values={"p": 1})
    assert str(fields["p"].type) == "int!"


def test_rule6_type_conflict_between_assets_is_an_error() -> None:
    problem = only_problem({"a": {"p": "int"}, "b": {"p": "string"}}, parameter_values={"p": 1})
    assert problem.key == ("selection",)
    assert problem.message == (
        "assets declare the shared parameter `p` with different types (`a`: int, `b`: string); "
        "settle it with `params_schema: {p: <type>}`"
    )


def test_rule6_type_conflict_settled_by_params_schema() -> None:
    fields = ok({"a": {"p": "int"}, "b": {"p": "string"}}, params_schema={"p": "any"})
    assert str(fields["p"].type) == "any"


def test_rule6_conflicting_types_are_fine_when_not_shared() -> None:
    fields = ok({"a": {"p": "int"}, "b": {"p": "string"}})
    assert (str(fields["a.p"].type), str(fields["b.p"].type)) == ("int", "string")


def test_rule6_override_has_shared_fields_type() -> None:
    fields = ok({"a": {"p": "int"}, "b": {"p": "string"}}, params_schema={"p": "any"})
    assert str(fields["a.p"].type) == "any"
    assert str(fields["b.p"].type) == "any"


@pytest.mark.parametrize(
    ("declared", "schema"), [("secret", "string"), ("string", "secret"), ("[secret]", "[string]")]
)
def test_rule6_params_schema_cannot_change_secretness(declared: str, schema: str) -> None:
    problem = only_problem({"a": {"token": declared}}, params_schema={"a.token": schema})
    assert problem.key == ("params_schema", "a.token")
    assert problem.message == (
        f"`params_schema` cannot turn `a`'s declared type `{declared}` into `{schema}`: "
        "secrets stay secrets and nothing else becomes one"
    )


def test_rule6_prefixed_name_in_parameter_values_points_to_ops_config() -> None:
    problem = only_problem(INGEST, parameter_values={"sales.batch_size": 5})
    assert problem.key == ("parameter_values", "sales.batch_size")
    assert problem.message == (
        "prefixed name `sales.batch_size` in `parameter_values`: a value for one asset goes "
        "under `ops_config: {sales: {batch_size: ...}}`"
    )


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        (
            {"parameter_values": {"batch_size": "ten"}},
            ("parameter_values", "batch_size"),
            "value does not fit type `int`: expected int, got str",
        ),
        (
            {"ops_config": {"sales": {"batch_size": 1.5}}},
            ("ops_config", "sales", "batch_size"),
            "value does not fit type `int`: expected int, got float",
        ),
        (
            {
                "params_schema": {"sales.batch_size": "[int]"},
                "ops_config": {"sales": {"batch_size": 1}},
            },
            ("ops_config", "sales", "batch_size"),
            "value does not fit type `[int]`: expected a list ([int]), got int",
        ),
        (
            {"parameter_values": {"target_bucket": None}},
            ("parameter_values", "target_bucket"),
            "value does not fit type `string`: expected string, got null",
        ),
        (
            {"params_schema": {"target_bucket": "String!"}},
            ("params_schema", "target_bucket"),
            "unknown type `String!`; did you mean `string!`?",
        ),
    ],
)
def test_rule6_defaults_must_fit_the_fields_type(
    kwargs: dict[str, Any], key: tuple[str, ...], message: str
) -> None:
    problem = only_problem(INGEST, **kwargs)
    assert problem.key == key
    assert problem.message.startswith(message)


def test_rule6_secret_default_must_be_an_env_reference_and_is_not_echoed() -> None:
    problem = only_problem({"a": {"token": "secret"}}, ops_config={"a": {"token": "hunter2"}})
    assert "hunter2" not in problem.message
    assert "{env: MY_VAR}" in problem.message
    ok({"a": {"token": "secret"}}, ops_config={"a": {"token": {"env": "TOKEN"}}})


# ---- rule 7: descriptions ----------------------------------------------------------------------


def test_rule7_descriptions_say_assets_type_and_scope() -> None:
    fields = ok(INGEST, parameter_values={"target_bucket": "lake"})
    assert fields["target_bucket"].description == (
        "Shared (string, optional): feeds `sales`, `marketing`. "
        "An asset's own `<asset>.target_bucket` value takes precedence."
    )
    assert (
        fields["sales.source_bucket"].description
        == "Per-asset (string, required): feeds `sales` only."
    )
    assert fields["marketing.target_bucket"].description == (
        "Per-asset (string, optional): feeds `marketing` only. "
        "Overrides the shared `target_bucket` for this asset."
    )


# ---- docs/parameters.md: resource keys, collisions, precedence ---------------------------------------------------


def test_resource_config_holds_shared_by_simple_name_and_per_asset_by_ops_key() -> None:
    spec = {"raw/sales": {"p": "string", "q": "int"}, "b": {"p": "string"}}
    fields = list(ok(spec, parameter_values={"p": "shared"}).values())
    flat = {"p": "shared", "raw/sales.p": "own", "raw/sales.q": 1}
    assert to_resource_config(fields, flat) == {
        "p": "shared",
        "__nexus_ops__raw__sales__p": "own",
        "__nexus_ops__raw__sales__q": 1,
    }


def test_resource_config_leaves_unset_optional_fields_absent() -> None:
    fields = list(ok(INGEST, parameter_values={"target_bucket": "lake"}).values())
    flat, _ = run_config_from_values(
        fields, {"sales.source_bucket": "s", "marketing.source_bucket": "m"}
    )
    config = to_resource_config(fields, flat)
    assert "__nexus_ops__sales__batch_size" not in config
    assert "__nexus_ops__sales__target_bucket" not in config
    assert config["target_bucket"] == "lake"


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ({"a__b": {"c": "int"}, "a": {"b__c": "int"}}, ("a__b.c", "a.b__c")),
        ({"raw/sales": {"p": "int"}, "raw__sales": {"p": "int"}}, ("raw/sales.p", "raw__sales.p")),
        ({"a": {"x": "int"}, "b": {"__nexus_ops__a__x": "int"}}, ("__nexus_ops__a__x", "a.x")),
    ],
    ids=[
        "asset-a__b-param-c-vs-asset-a-param-b__c",
        "prefixed-key-vs-underscores",
        "shared-vs-ops-key",
    ],
)
def test_colliding_nexus_ops_keys_are_an_error(
    spec: dict[str, dict[str, str]], names: tuple[str, str]
) -> None:
    shared = {"parameter_values": {names[0]: 1}} if names[0].startswith("__") else {}
    problem = only_problem(spec, **shared)
    assert problem.key == ("selection",)
    assert "both map to the resource key" in problem.message
    assert all(f"`{name}`" in problem.message for name in names)
    assert problem.message.endswith("rename one of the parameters or assets")


# (spec values, launch values, expected per-asset values for asset `a` of a/b sharing `p`)
PRECEDENCE = [
    pytest.param({}, {"p": "L"}, {"a": "L", "b": "L"}, id="shared-only"),
    pytest.param({}, {"a.p": "A"}, {"a": "A"}, id="per-asset-only"),
    pytest.param({}, {"p": "L", "a.p": "A"}, {"a": "A", "b": "L"}, id="per-asset-over-shared"),
    pytest.param({"parameter_values": {"p": "S"}}, {}, {"a": "S", "b": "S"}, id="shared-default"),
    pytest.param(
        {"parameter_values": {"p": "S"}, "ops_config": {"a": {"p": "O"}}},
        {},
        {"a": "O", "b": "S"},
        id="per-asset-default-over-shared-default",
    ),
    pytest.param(
        {"parameter_values": {"p": "S"}, "ops_config": {"a": {"p": "O"}}},
        {"p": "L"},
        {"a": "O", "b": "L"},
        id="per-asset-default-over-launched-shared",
    ),
    pytest.param(
        {"parameter_values": {"p": "S"}, "ops_config": {"a": {"p": "O"}}},
        {"a.p": "A", "b.p": "B"},
        {"a": "A", "b": "B"},
        id="launched-per-asset-over-per-asset-default",
    ),
]


@pytest.mark.parametrize(("spec_values", "launch", "expected"), PRECEDENCE)
def test_precedence_per_asset_over_shared_over_absent(
    spec_values: dict[str, Any], launch: dict[str, Any], expected: dict[str, Any]
) -> None:
    spec = {"a": {"p": "string"}, "b": {"p": "string"}}
    shared = spec_values or {"params_schema": {"p": "string"}}
    got = resolved_values(spec, launch, **shared)
    assert {asset: values.get("p") for asset, values in got.items() if "p" in values} == expected


def test_resolve_reports_source_and_field() -> None:
    config = {"p": 1, "__nexus_ops__raw__s__q": 2}
    values, missing = resolve("raw/s", {"p": t("int"), "q": t("int"), "r": t("int!")}, config)
    assert (values["p"].source, values["p"].field) == (SHARED, "p")
    assert (values["q"].source, values["q"].field) == (PER_ASSET, "raw/s.q")
    assert missing == ["r"]


def test_resolve_ignores_other_assets_values() -> None:
    values, missing = resolve("a", {"p": t("int")}, {"__nexus_ops__b__p": 1})
    assert values == {} and missing == []


# ---- run config from values --------------------------------------------------------------------


def test_run_config_from_values_includes_defaults_and_overrides() -> None:
    fields = list(
        ok(
            INGEST,
            parameter_values={"target_bucket": "lake"},
            ops_config={"sales": {"source_bucket": "s"}},
        ).values()
    )
    config, problems = run_config_from_values(
        fields, {"marketing.source_bucket": "m", "target_bucket": "t"}
    )
    assert problems == []
    assert config == {
        "target_bucket": "t",
        "sales.source_bucket": "s",
        "marketing.source_bucket": "m",
    }


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"marketing.source_bucket": "m", "sales.batch_sise": 1},
            (
                "sales.batch_sise",
                "unknown field `sales.batch_sise`; did you mean `sales.batch_size`?",
            ),
        ),
        (
            {"marketing.source_bucket": "m", "sales.batch_size": "many"},
            (
                "sales.batch_size",
                "`sales.batch_size` does not fit type `int`: expected int, got str",
            ),
        ),
        ({}, ("marketing.source_bucket", "required field `marketing.source_bucket` has no value")),
    ],
)
def test_run_config_from_values_problems(values: dict[str, Any], problem: tuple[str, str]) -> None:
    fields = list(
        ok(
            INGEST,
            parameter_values={"target_bucket": "lake"},
            ops_config={"sales": {"source_bucket": "s"}},
        ).values()
    )
    assert run_config_from_values(fields, values)[1] == [problem]


def test_run_config_from_values_never_repeats_a_value() -> None:
    fields = list(ok({"a": {"token": "secret", "n": "int"}}).values())
    _, problems = run_config_from_values(fields, {"a.token": "hunter2", "a.n": "hunter3"})
    assert len(problems) == 2
    assert not any("hunter" in message for _, message in problems)


# ---- the older form: simple names in params_schema, values per asset in ops_config --------------

LEGACY = {
    "params_schema": {"source_bucket": "string!", "target_bucket": "string!"},
    "parameter_values": {"target_bucket": "legacy-lake"},
    "ops_config": {
        "sales": {"source_bucket": "sales-raw"},
        "marketing": {"source_bucket": "mkt-raw"},
    },
}
MIGRATED = {
    "params_schema": {
        "sales.source_bucket": "string!",
        "marketing.source_bucket": "string!",
        "target_bucket": "string!",
    },
    "parameter_values": {"target_bucket": "legacy-lake"},
    "ops_config": {
        "sales": {"source_bucket": "sales-raw"},
        "marketing": {"source_bucket": "mkt-raw"},
    },
}


@pytest.mark.parametrize(
    "launch",
    [
        {},
        {"target_bucket": "other"},
        {"sales.source_bucket": "s2"},
        {"marketing.target_bucket": "m-only", "sales.batch_size": 5},
    ],
)
def test_older_form_resolves_like_its_migrated_form(launch: dict[str, Any]) -> None:
    legacy = resolved_values(INGEST, launch, **LEGACY)
    assert legacy == resolved_values(INGEST, launch, **MIGRATED)
    assert legacy["sales"]["source_bucket"] == launch.get("sales.source_bucket", "sales-raw")
    assert legacy["marketing"]["source_bucket"] == "mkt-raw"


def test_older_form_shared_name_fed_by_per_asset_values_is_not_required() -> None:
    fields = ok(INGEST, **LEGACY)
    assert fields["source_bucket"].required is False
    assert fields["sales.source_bucket"].default == "sales-raw"


# ---- suggestions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "choices", "hint"),
    [
        ("ordres", ["orders", "customers"], "; did you mean `orders`?"),
        ("zzz", ["orders"], ""),
        (
            "\u043erders",
            ["orders"],
            "; did you mean `orders`? `\u043erders` holds the non-ASCII character U+043E (CYRILLIC SMALL LETTER O).",
        ),
        (
            "\u0436",
            ["orders"],
            "; `\u0436` holds the non-ASCII character U+0436 (CYRILLIC SMALL LETTER ZHE).",
        ),
    ],
)
def test_suggest_closest_name_and_non_ascii_characters(
    name: str, choices: list[str], hint: str
) -> None:
    assert suggest(name, choices) == hint

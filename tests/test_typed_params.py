"""Typed parameters (docs: parameters.md, "Typed parameters"): a pydantic model as an asset's
declaration, its fields on the launchpad, an instance of it inside the asset, and its
constraints checked for every run before any asset's code runs."""

from pathlib import Path
from typing import Any, Literal

import dagster as dg
import pytest
from pydantic import BaseModel, Field, SecretStr, field_validator

from nexus_dagster import (
    NexusDeclarationError,
    NexusParamError,
    NexusParams,
    NexusSpecError,
    build_definitions,
    nexus_asset,
)

from .conftest import write_specs

RAN: list[str] = []
"""Assets whose code ran, in order (each test clears it)."""

# Direct invocation, check contexts and typed models touch Dagster's APIs most: these run on
# the oldest supported release too (make test-floor).
pytestmark = pytest.mark.floor


class Ingest(dg.Config):
    source_bucket: str = Field(description="Folder the exports land in")
    batch_size: int = Field(500, gt=0, description="Rows per write")
    mode: Literal["append", "replace"] = "append"
    limit: int | None
    tags: list[str] = []

    @field_validator("source_bucket")
    @classmethod
    def no_slash(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("a bucket name has no `/`")
        return value


class Report(BaseModel):
    source_bucket: str
    title: str = "Report"


@nexus_asset(params=Ingest)
def sales(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    chosen = params.for_asset(context)
    assert isinstance(chosen, Ingest)
    RAN.append("sales")
    return dg.MaterializeResult(metadata={"chosen": chosen.model_dump()})


@nexus_asset(params=Report, deps=[sales])
def report(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    chosen = params.for_asset(context)
    assert isinstance(chosen, Report)
    RAN.append("report")
    return dg.MaterializeResult(metadata={"chosen": chosen.model_dump()})


@nexus_asset(params={"source_bucket": "string!", "batch_size": "int"})
def legacy(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    chosen = params.for_asset(context, model=Ingest)
    RAN.append("legacy")
    return dg.MaterializeResult(metadata={"chosen": chosen.model_dump()})


SPECS = {
    "ingest_job.yaml": """
        selection: [sales, report]
        parameter_values: {source_bucket: lake}
        ops_config:
          sales: {batch_size: 100}
    """,
    "legacy_job.yaml": """
        selection: [legacy]
        ops_config:
          legacy: {source_bucket: old, batch_size: 7}
    """,
}


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    RAN.clear()
    return build_definitions(write_specs(tmp_path / "specs", SPECS), assets=[sales, report, legacy])


def failures(result: dg.ExecuteInProcessResult, kind: str) -> list[str]:
    """The error text of each event of ``kind`` (``STEP_FAILURE``, ``RESOURCE_INIT_FAILURE``)."""
    return [
        str(getattr(e.event_specific_data, "error", ""))
        for e in result.all_events
        if e.event_type_value == kind
    ]


def chosen(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    return result.asset_materializations_for_node(asset)[0].metadata["chosen"].value  # type: ignore[return-value]


def test_a_model_declares_the_parameters_and_its_descriptions_reach_the_launchpad() -> None:
    declared = sales.specs_by_key[dg.AssetKey("sales")].metadata["nexus/params"]
    assert declared == {
        "source_bucket": "string!",
        "batch_size": "int",
        "mode": "string",
        "limit": "int",
        "tags": "[string]",
    }


def test_the_launchpad_fields_carry_the_model_descriptions(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def("ingest_job")
    fields = job.run_config_schema.config_type.fields  # type: ignore[attr-defined]
    assert fields["sales.batch_size"].description.startswith("Rows per write. Per-asset (int")
    assert fields["source_bucket"].description.startswith(
        "Folder the exports land in. Shared (string"
    )
    assert "sales.limit" in fields and not fields["sales.limit"].is_required


def test_inside_the_asset_for_asset_returns_an_instance_with_spec_run_and_model_values(
    defs: dg.Definitions,
) -> None:
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config={"sales.tags": ["a", "b"], "report.title": "Weekly"}
    )
    assert chosen(result, "sales") == {
        "source_bucket": "lake",  # the spec's shared value
        "batch_size": 100,  # the spec's per-asset value
        "mode": "append",  # the model's default: no source gives it
        "limit": None,  # accepts None, has no default: optional, None
        "tags": ["a", "b"],  # the run's value
    }
    assert chosen(result, "report") == {"source_bucket": "lake", "title": "Weekly"}
    record = result.asset_materializations_for_node("sales")[0].metadata["nexus/params"].value
    assert record["batch_size"] == {"value": 100, "source": "default", "field": "sales.batch_size"}


@pytest.mark.parametrize(
    ("run_config", "field", "reason"),
    [
        ({"sales.batch_size": 0}, "sales.batch_size", "Input should be greater than 0"),
        ({"source_bucket": "a/b"}, "source_bucket", "a bucket name has no `/`"),
        ({"sales.mode": "merge"}, "sales.mode", "Input should be 'append' or 'replace'"),
    ],
)
def test_a_value_that_breaks_a_constraint_fails_the_run_before_any_asset_runs(
    defs: dg.Definitions, run_config: dict[str, Any], field: str, reason: str
) -> None:
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config=run_config, raise_on_error=False
    )
    assert not result.success
    assert RAN == []  # neither asset's code ran: the run failed when its resource started
    errors = failures(result, "RESOURCE_INIT_FAILURE")
    assert any(f"(field `{field}`) breaks a constraint" in e and reason in e for e in errors)


def test_a_value_of_the_wrong_type_is_refused_by_dagster_naming_the_field(
    defs: dg.Definitions,
) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="sales.batch_size"):
        defs.resolve_job_def("ingest_job").execute_in_process(
            run_config={"sales.batch_size": "many"}
        )
    assert RAN == []


def test_an_asset_declared_with_metadata_gets_an_instance_with_model(
    defs: dg.Definitions,
) -> None:
    result = defs.resolve_job_def("legacy_job").execute_in_process()
    assert chosen(result, "legacy")["source_bucket"] == "old"
    assert chosen(result, "legacy")["batch_size"] == 7
    failed = defs.resolve_job_def("legacy_job").execute_in_process(
        run_config={"legacy.batch_size": -1}, raise_on_error=False
    )
    assert not failed.success
    (step,) = failures(failed, "STEP_FAILURE")
    assert "(field `legacy.batch_size`) breaks a constraint of model `Ingest`" in step


class Vault(BaseModel):
    token: SecretStr
    tokens: list[SecretStr] = []


@nexus_asset(params=Vault)
def vaulted(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    chosen = params.for_asset(context)
    assert isinstance(chosen, Vault)
    return dg.MaterializeResult(metadata={"length": len(chosen.token.get_secret_value())})


def test_a_model_declares_a_secret_with_secret_str(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert vaulted.specs_by_key[vaulted.key].metadata["nexus/params"] == {
        "token": "secret!",
        "tokens": "[secret]",
    }
    monkeypatch.setenv("VAULT_TOKEN", "s3cr3t-value")
    specs = write_specs(
        tmp_path / "specs",
        {
            "vault_job.yaml": "selection: [vaulted]\nops_config: {vaulted: {token: {env: VAULT_TOKEN}}}\n"
        },
    )
    result = (
        build_definitions(specs, assets=[vaulted]).resolve_job_def("vault_job").execute_in_process()
    )
    materialization = result.asset_materializations_for_node("vaulted")[0]
    assert materialization.metadata["length"].value == len("s3cr3t-value")
    record = materialization.metadata["nexus/params"].value
    assert record["token"]["value"] == "***"  # type: ignore[index]
    assert "s3cr3t-value" not in str(materialization.metadata)


class Opaque:
    pass


class NoJson(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    handle: Opaque


class BadName(BaseModel):
    bucket: str = Field(alias="source-bucket")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            NoJson,
            "asset `broken`, metadata `nexus/params.handle`: field `handle` of model `NoJson` "
            "has type `Opaque`, which has no JSON form",
        ),
        (
            BadName,
            "asset `broken`, metadata `nexus/params.source-bucket`: field `source-bucket` of "
            "model `BadName` is not a parameter name",
        ),
    ],
)
def test_a_model_that_cannot_be_a_declaration_is_refused_naming_asset_and_field(
    model: type[BaseModel], message: str
) -> None:
    with pytest.raises(NexusDeclarationError) as caught:

        @nexus_asset(params=model, name="broken")
        def anything(context: dg.AssetExecutionContext, params: NexusParams) -> None: ...

    assert str(caught.value).startswith(message)


def test_a_missing_required_model_field_raises_the_missing_value_error(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "specs", {"bare_job.yaml": "selection: [report]\n"})
    defs = build_definitions(specs, assets=[sales, report])
    with pytest.raises(dg.DagsterInvalidConfigError, match="report.source_bucket"):
        defs.resolve_job_def("bare_job").execute_in_process()
    with pytest.raises(NexusParamError, match="asset `report` needs parameter `source_bucket`"):
        report(dg.build_asset_context(), params=NexusParams(values={}))


@pytest.mark.parametrize(
    ("spec", "line"),
    [
        (
            "selection: [sales]\nparameter_values: {source_bucket: a/b}\n",
            "bad_job.yaml:2:20: parameter_values.source_bucket: parameter `source_bucket` of "
            "`sales` (field `source_bucket`) breaks a constraint of model `Ingest`: Value error, "
            "a bucket name has no `/` (the spec's value; runs that do not give another fail)",
        ),
        (
            "selection: [sales]\nops_config:\n  sales: {source_bucket: ok, batch_size: 0}\n",
            "bad_job.yaml:3:30: ops_config.sales.batch_size: parameter `batch_size` of `sales` "
            "(field `sales.batch_size`) breaks a constraint of model `Ingest`: Input should be "
            "greater than 0 (the spec's value; runs that do not give another fail)",
        ),
    ],
)
def test_a_spec_value_that_breaks_a_constraint_is_a_spec_problem_at_its_key(
    tmp_path: Path, spec: str, line: str
) -> None:
    specs = write_specs(tmp_path / "specs", {"bad_job.yaml": spec})
    with pytest.raises(NexusSpecError) as caught:
        build_definitions(specs, assets=[sales])
    (problem,) = caught.value.problems
    assert str(problem).endswith(line)

"""Checks that cannot decide fail closed, with a message (contract §21): a spec job's run whose
`params` resource is not bound to the code location's specs, and a spec job's run that carries
no launch digest."""

from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusParams, build_definitions, nexus_asset
from nexus_dagster.consistent_runs import job_fields
from nexus_dagster.errors import NexusParamError

from .conftest import error_text, write_specs

RAN: list[str] = []


@nexus_asset(params={"bucket": "string!"})
def lake(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    RAN.append(params.for_asset(context)["bucket"])


SPEC = "selection: [lake]\nparameter_values: {bucket: from-spec}\n"


def test_a_spec_job_run_with_a_params_resource_made_by_hand_fails(tmp_path: Path) -> None:
    folder = write_specs(tmp_path, {"lake_job.yaml": SPEC})
    built = build_definitions(folder, assets=[lake])
    # the user wires the spec's job with a `NexusParams` of their own, not the bound one
    (job,) = [j for j in built.jobs or [] if j.name == "lake_job"]
    defs = dg.Definitions(assets=[lake], jobs=[job], resources={"params": NexusParams()})
    result = defs.resolve_job_def("lake_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success and RAN == []
    errors = error_text(result.all_events)
    assert "its `params` resource does not know that job: it is not bound" in errors
    # the bound one runs it
    assert built.resolve_job_def("lake_job").execute_in_process().success
    assert RAN == ["from-spec"]


def test_a_spec_job_run_without_its_launch_digest_fails(tmp_path: Path) -> None:
    folder = write_specs(tmp_path, {"lake_job.yaml": SPEC})
    built = build_definitions(folder, assets=[lake])
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run = dg.DagsterRun(job_name="lake_job", run_id="no-digest-run", tags={})
        with pytest.raises(NexusParamError, match="carries no `nexus/params_digest` tag"):
            job_fields(instance, run, "lake_job", "lake_job.yaml", (), "")
    assert built.resolve_job_def("lake_job").tags["nexus/params_digest"]

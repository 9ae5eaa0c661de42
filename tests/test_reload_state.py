"""What a process keeps from one build of a code location to the next: a rebuild after a spec
edit (``build_definitions`` called again on the folder, a ``dg`` project loaded again, or
reloaded in place by Dagster) replaces what the location built before, while two different
locations in one process stay apart."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster.components.core.component_tree import ComponentTree

from nexus_dagster import (
    NexusConfigError,
    build_definitions,
    nexus_asset,
    nexus_run_config,
    run_requests,
)

from .conftest import REPO, write_specs


@pytest.fixture(autouse=True)
def only_this_test_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run helpers know only the locations the test builds: another test of the process
    may have built a job of one of its names (the example's ``sales_job``)."""
    monkeypatch.setattr(run_requests, "_BUILT", {})


@nexus_asset(params={"bucket": "string!", "n": "int"})
def kept() -> None:
    pass


def job_spec(bucket: str, extra: str = "") -> str:
    return f"selection: [kept]\nparams_schema: {{bucket: string}}\nparameter_values: {{bucket: {bucket}}}\n{extra}"


# --- build_definitions -------------------------------------------------------------------------


def test_a_rebuilt_folder_replaces_the_jobs_it_built_before(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs", {"job.yaml": job_spec("one"), "gone.yaml": job_spec("g")}
    )
    before = build_definitions(folder, assets=[kept]).resolve_job_def("job")
    assert nexus_run_config("job", {}) == {"bucket": "one"}

    (folder / "job.yaml").write_text(job_spec("two"))
    (folder / "gone.yaml").unlink()
    after = build_definitions(folder, assets=[kept]).resolve_job_def("job")

    assert nexus_run_config("job", {}) == {"bucket": "two"}
    assert nexus_run_config(after, {}) == {"bucket": "two"}
    with pytest.raises(NexusConfigError) as err:
        nexus_run_config(before, {})
    assert str(err.value) == (
        f"job `job`: this definition of the job was built from another version of its spec "
        f"({folder / 'job.yaml'}) than the one its code location last built; pass the job of "
        "the definitions as they are now built (`defs.resolve_job_def(...)`, `defs.jobs`)"
    )
    with pytest.raises(NexusConfigError, match="`gone`: not a job built from a spec"):
        nexus_run_config("gone", {})


def test_two_folders_building_one_job_name_stay_apart_when_one_is_rebuilt(tmp_path: Path) -> None:
    first = write_specs(tmp_path / "first", {"twin.yaml": job_spec("one")})
    second = write_specs(tmp_path / "second", {"twin.yaml": job_spec("two")})
    one = build_definitions(first, assets=[kept]).resolve_job_def("twin")
    build_definitions(second, assets=[kept])
    (second / "twin.yaml").write_text(job_spec("three"))
    three = build_definitions(second, assets=[kept]).resolve_job_def("twin")

    with pytest.raises(NexusConfigError) as err:
        nexus_run_config("twin", {})
    assert str(err.value) == (
        "job `twin`: several code locations in this process build a job of this name from "
        f"different specs ({first / 'twin.yaml'}, {second / 'twin.yaml'}); pass the job "
        "definition instead of its name"
    )
    assert nexus_run_config(one, {}) == {"bucket": "one"}
    assert nexus_run_config(three, {}) == {"bucket": "three"}


def test_two_folders_building_the_same_job_share_its_name(tmp_path: Path) -> None:
    for where in ("first", "second"):
        write_specs(tmp_path / where, {"same.yaml": job_spec("one")})
        build_definitions(tmp_path / where, assets=[kept])
    assert nexus_run_config("same", {}) == {"bucket": "one"}


# --- a dg project ------------------------------------------------------------------------------

PROJECT_MODULE = "nexus_example"


def _forget_project_modules() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == PROJECT_MODULE]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example dg project (two ``NexusJobsComponent``s, an ``ingestion`` assets
    folder), importable from its ``src/``; ``sales_job`` is its ``asset_defaults`` spec."""
    root = Path(
        shutil.copytree(
            REPO / "examples" / "dg_project",
            tmp_path / "project",
            ignore=shutil.ignore_patterns("__pycache__", "tests"),
        )
    )
    spec = sales_specs(root) / "sales_job.yaml"
    spec.write_text(spec.read_text() + "asset_defaults: true\n")
    write_specs(sales_specs(root), {"extra_job.yaml": "selection: [report]\n"})
    _forget_project_modules()
    monkeypatch.syspath_prepend(str(root / "src"))
    yield root
    _forget_project_modules()


def sales_specs(root: Path) -> Path:
    return root / "src" / PROJECT_MODULE / "defs" / "sales_jobs" / "job_specs"


def defs_folder(root: Path) -> Path:
    return root / "src" / PROJECT_MODULE / "defs"


def edit_sales_job(root: Path) -> None:
    """``sales_job`` takes another target bucket and is no longer ``asset_defaults``."""
    spec = sales_specs(root) / "sales_job.yaml"
    text = spec.read_text().replace("asset_defaults: true\n", "")
    spec.write_text(text.replace("target_bucket: warehouse", "target_bucket: lake"))


def materialize_sales(defs: dg.Definitions) -> dg.ExecuteInProcessResult:
    """``sales_ingestion_asset`` alone, as the asset graph's Materialize runs it."""
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey("sales_ingestion_asset")],
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    """The messages of the run's errors (a step's, a resource's) and of their causes."""
    messages = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)


@pytest.mark.floor
def test_a_dg_project_loaded_again_knows_only_its_new_specs(project: Path) -> None:
    first = ComponentTree.for_project(project).build_defs()
    assert materialize_sales(first).success  # the asset_defaults values of sales_job
    assert nexus_run_config("sales_job", {})["target_bucket"] == "warehouse"
    assert nexus_run_config("report_job", {}) == {"report_title": "Daily sales and marketing"}

    edit_sales_job(project)
    (sales_specs(project) / "extra_job.yaml").unlink()
    shutil.rmtree(defs_folder(project) / "reporting_jobs")
    again = ComponentTree.for_project(project).build_defs()

    assert nexus_run_config("sales_job", {})["target_bucket"] == "lake"
    for gone in ("extra_job", "report_job"):  # a removed spec, a removed component's spec
        with pytest.raises(NexusConfigError, match=f"`{gone}`: not a job built from a spec"):
            nexus_run_config(gone, {})
    result = materialize_sales(again)  # no asset_defaults spec any more
    assert not result.success
    assert "asset `sales_ingestion_asset` needs parameter" in failure_of(result)


reloads_in_place = pytest.mark.skipif(
    not hasattr(ComponentTree, "reload_with_state"),
    reason="Dagster 1.12 has no in-place reload (ComponentTree.reload_with_state)",
)


def reload_in_place(tree: ComponentTree) -> dg.Definitions:
    """The project's definitions rebuilt by the same tree, as Dagster's code server does when
    the state of a component of the ``ingestion`` folder changes (``ReloadCodeWithState``):
    that folder and what depends on it (every ``NexusJobsComponent``) build again."""
    from dagster.components.core.defs_module import ComponentPath

    ingestion = ComponentPath.from_resolvable(tree.defs_module_path, "ingestion")
    tree.state_tracker.invalidate_loc(ingestion)
    return tree.reload_with_state([])


@reloads_in_place
def test_a_dg_project_reloaded_in_place_forgets_a_removed_asset_defaults_spec(
    project: Path,
) -> None:
    tree = ComponentTree.for_project(project)
    assert materialize_sales(tree.build_defs()).success
    edit_sales_job(project)
    (sales_specs(project) / "extra_job.yaml").unlink()
    reloaded = reload_in_place(tree)

    assert "extra_job" not in {job.name for job in reloaded.jobs or []}  # the specs built again
    result = materialize_sales(reloaded)
    assert not result.success
    assert "asset `sales_ingestion_asset` needs parameter" in failure_of(result)
    assert nexus_run_config("sales_job", {})["target_bucket"] == "lake"


@reloads_in_place
def test_a_dg_project_reloaded_in_place_lets_a_spec_move_to_another_component(
    project: Path,
) -> None:
    tree = ComponentTree.for_project(project)
    tree.build_defs()
    reporting = defs_folder(project) / "reporting_jobs" / "job_specs"
    shutil.move(sales_specs(project) / "extra_job.yaml", reporting / "extra_job.yaml")
    reloaded = reload_in_place(tree)

    assert "extra_job" in {job.name for job in reloaded.jobs or []}
    assert nexus_run_config("extra_job", {}) == {}

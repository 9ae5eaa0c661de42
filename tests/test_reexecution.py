"""A re-execution resolves the values its parent resolved, after a spec edit, by any executor and
whatever number of steps it re-runs (contract §21), for a spec job and for a run outside spec
jobs (Dagster's asset job, as the asset graph's Materialize runs it).

The parent run's `second` edits the spec (`bucket: before` -> `after`) and fails
(tests/locations/reexec_location.py). Each run is launched by `dagster.execute_job` in a process of
its own (tests/locations/reexec_driver.py), which loads the spec files as they are then, as a
reloaded webserver does; the re-executed steps load the edited spec. A Python re-execution copies
neither the parent's tags nor its run config: the values come from the parent in the instance.
Before runs were made one family, these re-executions resolved `after` without a word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nexus_dagster.asset_defaults import DefaultsSpec
from nexus_dagster.consistent_runs import (
    _DEFAULTS,
    DIGEST_TAG,
    FIELDS_KEY_PREFIX,
    defaults_fields,
)
from nexus_dagster.errors import NexusParamError
from nexus_dagster.rules import fields_digest

from .conftest import new_dagster_home, write_specs

LOCATIONS = Path(__file__).parent / "locations"
DRIVER = LOCATIONS / "reexec_driver.py"
SPEC = "selection: [first, second]\nasset_defaults: true\nparameter_values:\n  bucket: before\n"
JOB = "edit_job"
OUTSIDE = "__ASSET_JOB"
TIMEOUT = 180  # seconds, for one run

# The module's families are made once: one xdist worker runs its tests.
pytestmark = pytest.mark.xdist_group("test_reexecution")


class Family:
    """One spec folder, instance and output folder: a parent run and its re-executions."""

    def __init__(self, tmp_path: Path) -> None:
        self.specs = write_specs(tmp_path / "specs", {f"{JOB}.yaml": SPEC})
        self.home = new_dagster_home(tmp_path / "home")
        self.out = tmp_path / "out"
        self.out.mkdir()

    def run(self, job: str, *runs: str) -> list[dict[str, Any]]:
        """The runs (`EXECUTOR` or `EXECUTOR:HOW:PARENT`), one after another in one process."""
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "NEXUS_TEST_SPECS": str(self.specs),
            "PROBE_OUT": str(self.out),
        }
        done = subprocess.run(
            [sys.executable, str(DRIVER), job, *runs],
            env=env, capture_output=True, text=True, timeout=TIMEOUT * len(runs), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return [json.loads(line) for line in done.stdout.strip().splitlines()[-len(runs) :]]

    def resolved(self, asset: str, run_id: str) -> dict[str, Any] | None:
        path = self.out / f"{asset}-{run_id}.json"
        return json.loads(path.read_text())["values"] if path.exists() else None

    def failed_parent(self, job: str, executor: str) -> str:
        (self.out / "fail_second").touch()
        (parent,) = self.run(job, executor)
        assert not parent["success"]
        assert self.resolved("first", parent["run_id"]) == {"bucket": "before"}
        assert "bucket: after" in (self.specs / f"{JOB}.yaml").read_text()  # edited
        return parent["run_id"]


REEXECUTIONS = {
    "multiprocess-from-failure": "multiprocess:from_failure",
    "in-process-from-failure": "in_process:from_failure",
    "in-process-one-step": "in_process:second",  # the one step, selected
}
GIVEN_OTHER = "in_process:from_failure:{parent}:other"
"""A re-execution given other values than its parent (refused)."""


Made = dict[str, tuple[Family, dict[str, dict[str, Any]]]]
"""Per job: its family, and its runs by name (`parent`, each of REEXECUTIONS, `new-run`)."""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """For the spec job and for a run outside spec jobs: a failed parent run whose `second`
    edited the spec, then each re-execution of it and a new run, launched after the edit."""
    made = {}
    for job in (JOB, OUTSIDE):
        family = Family(tmp_path_factory.mktemp("reexecution"))
        parent = family.failed_parent(job, "in_process")
        names = [*REEXECUTIONS, "given-other", "new-run"]
        batch = [f"{how}:{parent}" for how in REEXECUTIONS.values()]
        batch += [GIVEN_OTHER.format(parent=parent), "in_process"]
        runs = dict(zip(names, family.run(job, *batch), strict=True))
        made[job] = (family, {"parent": {"run_id": parent}, **runs})
    return made


JOBS = pytest.mark.parametrize("job", [JOB, OUTSIDE], ids=["spec-job", "outside-spec-jobs"])


@pytest.mark.parametrize(
    "how", [pytest.param(h, marks=pytest.mark.floor) if "in-process-from" in h else h
            for h in REEXECUTIONS],
)  # fmt: skip
@JOBS
def test_a_reexecution_after_an_edit_resolves_the_parent_values(
    made: Made, job: str, how: str
) -> None:
    runs, child = made[job][0], made[job][1][how]
    assert child["success"], child["failures"]
    assert runs.resolved("second", child["run_id"]) == {"bucket": "before"}


@JOBS
def test_a_reexecution_given_other_values_is_refused_before_the_asset_code(
    made: Made, job: str
) -> None:
    runs, child = made[job][0], made[job][1]["given-other"]
    assert not child["success"]
    assert runs.resolved("second", child["run_id"]) is None
    text = "\n".join(child["failures"])
    assert "and resolves the values that run was launched with, but it was given others for " in (
        text
    )
    assert (
        "`bucket`: re-execute it with its parent's run config, or launch a new run with these "
        "values"
    ) in text


@JOBS
def test_a_new_run_after_the_edit_resolves_the_edited_spec(made: Made, job: str) -> None:
    runs, fresh = made[job][0], made[job][1]["new-run"]
    assert fresh["success"], fresh["failures"]
    assert runs.resolved("second", fresh["run_id"]) == {"bucket": "after"}


@pytest.mark.floor
@JOBS
def test_a_reexecution_whose_parent_values_are_lost_fails_before_the_asset_code(
    made: Made, job: str
) -> None:
    runs, parent = made[job][0], made[job][1]["parent"]["run_id"]
    # The fields of the parent's digest are no longer in the instance's store: nothing can say
    # what `bucket` was, so the re-execution refuses rather than resolve `after`. (The module's
    # other tests read runs made before this.)
    with dg.DagsterInstance.from_config(str(runs.home)) as instance:
        tags = instance.get_run_by_id(parent).tags  # type: ignore[union-attr]
        digests = [v for k, v in tags.items() if k.startswith("nexus/asset_defaults.")]
        digest = tags[DIGEST_TAG] if job == JOB else digests[0]
        key = FIELDS_KEY_PREFIX + digest
        assert key in instance.run_storage.get_cursor_values({key})
        instance.run_storage.set_cursor_values({key: "[]"})
    (child,) = runs.run(job, f"in_process:from_failure:{parent}")
    assert not child["success"]
    assert runs.resolved("second", child["run_id"]) is None  # its code never ran
    text = "\n".join(child["failures"])
    spec_name = f"the spec of job `{JOB}`" if job == JOB else f"`asset_defaults` spec `{JOB}`"
    assert spec_name in text, text
    assert "this step cannot resolve them. Launch a new run to use the spec as it is now." in text


# --- two root steps that start together -----------------------------------------------------


def _spec(bucket: str) -> DefaultsSpec:
    from nexus_dagster.param_types import parse_type
    from nexus_dagster.rules import derive_fields

    fields, _ = derive_fields(
        {"first": {"bucket": parse_type("string!")}},
        params_schema={"bucket": "string!"},
        parameter_values={"bucket": bucket},
    )
    return DefaultsSpec(JOB, f"specs/{JOB}.yaml", tuple(fields))


def test_two_steps_claiming_two_versions_at_once_both_refuse(tmp_path: Path) -> None:
    before, after = _spec("before"), _spec("after")
    assert fields_digest(before.fields) != fields_digest(after.fields)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run = instance.create_run_for_job(dg.define_asset_job("j").resolve(asset_graph=_graph()))
        # The step with `before` finds no claim and claims; the step with `after`, started at
        # the same moment, claims too before the first reads the claims again.
        real_add = instance.add_run_tags
        raced = []

        def racing_add(run_id: str, tags: dict[str, str]) -> None:
            real_add(run_id, tags)
            if not raced:
                raced.append(True)
                real_add(run_id, {after.claim_tag(after.digest): after.digest})

        instance.add_run_tags = racing_add  # type: ignore[method-assign]
        with pytest.raises(NexusParamError, match="resolved two versions of the `asset_defaults`"):
            defaults_fields(instance, run, before)
        instance.add_run_tags = real_add  # type: ignore[method-assign]
        _DEFAULTS.clear()  # the other step's process
        with pytest.raises(NexusParamError, match="resolved two versions of the `asset_defaults`"):
            defaults_fields(instance, run, after)


def test_a_step_after_the_first_claim_resolves_the_first_version(tmp_path: Path) -> None:
    before, after = _spec("before"), _spec("after")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run = instance.create_run_for_job(dg.define_asset_job("j").resolve(asset_graph=_graph()))
        assert defaults_fields(instance, run, before) is before
        _DEFAULTS.clear()  # a later step, in a process that loaded the edited spec
        resolved = defaults_fields(instance, run, after)
        assert resolved.fields == before.fields
        assert instance.get_run_by_id(run.run_id).tags == {  # type: ignore[union-attr]
            **run.tags,
            before.claim_tag(before.digest): before.digest,
        }


def _graph() -> Any:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

    @dg.asset
    def first() -> None: ...

    return AssetGraph.from_assets([first])

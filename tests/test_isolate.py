"""A broken spec costs only itself (`on_spec_error="isolate"`): the good specs build and tick,
each broken file becomes a job that shows its problem lines and fails at run start with them,
every problem is logged, and the validators still fail."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from nexus_dagster import NexusError, NexusParams, NexusSpecError, build_definitions, nexus_asset

from .cli_support import invoke
from .conftest import write_specs
from .forked_dagster import dagster

TESTS = Path(__file__).parent
ANY_SPECS = TESTS / "locations" / "any_specs_location.py"
CLI_TIMEOUT = 180  # seconds, for a `dagster` command

RAN: list[str] = []


@nexus_asset(params={"bucket": "string!", "n": "int"})
def orders(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    values = params.for_asset(context)
    RAN.append(f"orders {values['bucket']}")
    return dg.MaterializeResult(metadata={"bucket": values["bucket"]})


@nexus_asset(params={"bucket": "string!"})
def refunds(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    RAN.append(f"refunds {params.for_asset(context)['bucket']}")


ASSETS = [orders, refunds]

GOOD = """\
selection: [orders]
parameter_values: {bucket: lake}
schedules:
  - cron: "0 6 * * *"
"""
# An unknown asset, and a schedule that must not be built.
BROKEN = """\
name: broken_job
selection: [ordrs]
schedules:
  - cron: "0 7 * * *"
"""


def _job_problems(defs: dg.Definitions, name: str) -> str:
    job = defs.resolve_job_def(name)
    assert job.description is not None
    return job.description


def test_good_specs_build_and_each_broken_file_becomes_a_job_that_reports_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_specs(
        tmp_path,
        {
            "good_job.yaml": GOOD,
            "broken.yaml": BROKEN,
            "bad yaml.yaml": "selection: [orders\n",
        },
    )
    RAN.clear()
    with caplog.at_level(logging.ERROR):
        defs = build_definitions(folder, assets=ASSETS, on_spec_error="isolate")
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    # `name:` where it can be read, else the file's stem made a job name
    assert jobs == ["bad_yaml", "broken_job", "good_job"]
    assert [s.name for s in defs.schedules or []] == ["good_job_schedule"]
    broken_line = (
        f"{folder}/broken.yaml:2:13: selection[0]: unknown asset `ordrs`; did you mean `orders`?"
    )
    yaml_line = f"{folder}/bad yaml.yaml:2:1:"
    assert broken_line in _job_problems(defs, "broken_job")
    assert yaml_line in _job_problems(defs, "bad_yaml")
    # every problem logged, one line each
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"isolated (on_spec_error: isolate): {broken_line}" in logged
    assert any(yaml_line in line for line in logged)

    # the good job runs with its values; the broken one fails at its start with its lines
    good = defs.resolve_job_def("good_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert good.success and RAN == ["orders lake"]
    RAN.clear()
    failed = defs.resolve_job_def("broken_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not failed.success
    assert RAN == []
    failures = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    message = failures[0].step_failure_data.user_failure_data.description
    assert message.startswith(f"the spec {folder}/broken.yaml has problems")
    assert broken_line in message


def test_a_problem_shared_by_several_files_isolates_each_of_them(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path,
        {
            # a file with a problem of its own too (an unknown key where its schedules were):
            # its name, read all the same, still claims `daily`
            "a.yaml": "name: daily\n" + GOOD.replace("schedules:", "x_schedules:", 1),
            "b.yaml": "name: daily\nselection: [refunds]\nparameter_values: {bucket: b}\n",
            "d1.yaml": "asset_defaults: true\nselection: [refunds]\nparameter_values: {bucket: x}\n",
            "d2.yaml": "asset_defaults: true\nselection: [refunds]\nparameter_values: {bucket: y}\n",
            "fine.yaml": "selection: [orders]\nparameter_values: {bucket: f}\n",
        },
    )
    assert "\nx_schedules:\n" in (folder / "a.yaml").read_text()
    defs = build_definitions(folder, assets=ASSETS, on_spec_error="isolate")
    jobs = {j.name: j for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    # both `daily` files are isolated; the second takes its file's stem
    assert sorted(jobs) == ["b", "d1", "d2", "daily", "fine"]
    own = f"{folder}/a.yaml:4:1: x_schedules: unknown key `x_schedules`; did you mean `schedules`?"
    shared = f"{folder}/b.yaml:1:1: name: job name `daily` is already used by {folder}/a.yaml"
    # `a.yaml` shows both its problems; `b.yaml`, valid on its own, only the shared one
    assert own in (jobs["daily"].description or "")
    assert shared in (jobs["daily"].description or "")
    assert shared in (jobs["b"].description or "")
    assert "x_schedules" not in (jobs["b"].description or "")
    for name in ("daily", "b", "d1", "d2"):
        assert jobs[name].tags.get("nexus/spec_problems") == "true"
    for name in ("d1", "d2"):
        assert (
            f"asset `refunds` is selected by 2 `asset_defaults` specs ({folder}/d1.yaml, "
            f"{folder}/d2.yaml)" in (jobs[name].description or "")
        )
    assert "nexus/spec_problems" not in jobs["fine"].tags
    # the good spec's job still runs, with its own value
    RAN.clear()
    fine = defs.resolve_job_def("fine").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert fine.success and RAN == ["orders f"]
    # both `asset_defaults` specs of `refunds` are isolated: its runs outside spec jobs fail,
    # taking the value of neither file (`x`, `y`), naming the problem, and suggesting no other
    # spec to mark `asset_defaults`
    RAN.clear()
    with pytest.raises((NexusError, dg.DagsterError)) as err:
        defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=[dg.AssetKey("refunds")], instance=dg.DagsterInstance.ephemeral()
        )
    assert RAN == []
    # the message, and that of the error it wraps (the resource's, as the run starts)
    wrapped = getattr(err.value, "user_exception", None) or err.value.__cause__
    message = f"{err.value}\n{wrapped}"
    assert "has problems" in message
    assert (
        f"asset `refunds` is selected by 2 `asset_defaults` specs ({folder}/d1.yaml, "
        f"{folder}/d2.yaml)" in message
    )
    assert "add `asset_defaults: true`" not in message
    assert "with `asset_defaults: true`" not in message


def test_a_schedule_run_config_dagster_refuses_isolates_its_file(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path,
        {
            "good_job.yaml": GOOD,
            "sections.yaml": GOOD.replace('"0 6 * * *"', '"0 8 * * *"')
            + "    name: sections_schedule\n    run_config: {execution: {config: {multiprocess: {max_concurrent: many}}}}\n",
        },
    )
    with pytest.raises(NexusSpecError, match="Dagster refuses this run config"):
        build_definitions(folder, assets=ASSETS)
    defs = build_definitions(folder, assets=ASSETS, on_spec_error="isolate")
    assert [s.name for s in defs.schedules or []] == ["good_job_schedule"]
    assert "Dagster refuses this run config" in _job_problems(defs, "sections")


def test_raise_is_the_default_and_validation_commands_always_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path, {"good_job.yaml": GOOD, "broken.yaml": BROKEN})
    with pytest.raises(NexusSpecError, match="unknown asset `ordrs`"):
        build_definitions(folder, assets=ASSETS)
    monkeypatch.setenv("DAGSTER_IS_DEFS_VALIDATION_CLI", "1")
    with pytest.raises(NexusSpecError, match="unknown asset `ordrs`"):
        build_definitions(folder, assets=ASSETS, on_spec_error="isolate")
    with pytest.raises(NexusError, match="on_spec_error must be `raise` or `isolate`"):
        build_definitions(folder, assets=ASSETS, on_spec_error="skip")  # type: ignore[arg-type]


def test_problems_in_python_code_still_stop_the_load(tmp_path: Path) -> None:
    @dg.asset(metadata={"nexus/params": {"bucket": "strin"}})
    def typo() -> None: ...

    folder = write_specs(tmp_path, {"good_job.yaml": GOOD})
    with pytest.raises(NexusError, match="strin"):
        build_definitions(folder, assets=[*ASSETS, typo], on_spec_error="isolate")


def _env(specs: Path) -> dict[str, str]:
    return {"NEXUS_SPECS_DIR": str(specs), "NEXUS_ON_SPEC_ERROR": "isolate"}


def _cli(command: list[str], specs: Path) -> subprocess.CompletedProcess[str]:
    """A ``dagster`` command on the location, as a process (its log lines are what it shows),
    forked from one that has imported Dagster (``forked_dagster``): it imports the location, and
    reads its environment and specs folder, anew."""
    env = {**os.environ, **_env(specs)}
    env.pop("DAGSTER_HOME", None)
    env.pop("DAGSTER_IS_DEFS_VALIDATION_CLI", None)
    return dagster(
        [*command, "-f", str(ANY_SPECS), "-d", str(ANY_SPECS.parent)], env=env, timeout=CLI_TIMEOUT
    )


def _forget_locations() -> None:
    """Drop the location modules an in-process load imported by their file names, so that the
    next load reads its environment (and specs folder) anew."""
    for path in ANY_SPECS.parent.glob("*.py"):
        module = sys.modules.get(path.stem)
        if module is not None and Path(getattr(module, "__file__", "") or "") == path:
            del sys.modules[path.stem]


def test_through_the_dagster_cli_the_location_loads_and_the_validators_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "u_job.yaml": "selection: [u_config]\nparameter_values: {bucket: b}\n",
            "broken.yaml": "selection: [u_confg]\n",
        },
    )
    listed = _cli(["job", "list"], folder)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "u_job" in listed.stdout and "broken" in listed.stdout
    assert f"isolated (on_spec_error: isolate): {folder}/broken.yaml:1:13:" in (
        listed.stdout + listed.stderr
    )

    # the run's one step in the launching process: what it shows, not where it runs, is tested
    run_config = tmp_path / "run.yaml"
    run_config.write_text(yaml.safe_dump({"execution": {"config": {"in_process": {}}}}))
    ran = _cli(["job", "execute", "-j", "broken", "-c", str(run_config)], folder)
    assert ran.returncode != 0
    line = f"{folder}/broken.yaml:1:13: selection[0]: unknown asset `u_confg`; did you mean `u_config`?"
    # the run's failure message holds the problem line (the load's log line above does too:
    # what follows RUN_FAILURE is the run's own)
    _, found, failure = (ran.stdout + ran.stderr).partition(" - RUN_FAILURE - ")
    assert found, (ran.stdout + ran.stderr)[-3000:]
    assert failure.startswith('Execution of run for "broken" failed.')
    assert (
        f"Failure: the spec {folder}/broken.yaml has problems; fix them and reload the code "
        f"location:\n{line}\n" in failure
    ), failure[:3000]
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("DAGSTER_IS_DEFS_VALIDATION_CLI", raising=False)
    _forget_locations()
    try:
        ours = invoke(
            ["validate", "-f", str(ANY_SPECS), "-d", str(ANY_SPECS.parent)],
            ANY_SPECS.parent,
            env=_env(folder),
        )
    finally:
        _forget_locations()
    assert ours.code == 1 and line in ours.out.splitlines(), ours.out + ours.err
    theirs = _cli(["definitions", "validate"], folder)
    assert theirs.returncode == 1 and line in theirs.stdout + theirs.stderr

"""`nexus-dagster validate` reports every problem the code location's load reports, in the same
`path:line:col: message` line, and exits 1: also the problems only the load can see, a spec that
takes the name of a job, schedule or sensor written in Python beside it (or in another defs
folder of a `dg` project), and a schedule's `run_config:` that Dagster refuses. Both with
`on_spec_error="raise"` and `"isolate"` (which Dagster loads around the broken files, but which
`validate` still fails).

Each command on a code location file runs in this process (`invoke`); the load's own error is
read by running the location's file, as Dagster imports it. In a `dg` project the installed
script runs as a process (its defs folders are namespace packages, which `invoke` cannot drop
again once imported)."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from nexus_dagster import NexusSpecError
from nexus_dagster.factory import VALIDATION_ENV

from .cli_support import Run, invoke
from .conftest import REPO, write_specs

LOCATIONS = Path(__file__).parent / "locations"
PYTHON_NAMES = LOCATIONS / "python_names" / "python_names_location.py"
ANY_SPECS = LOCATIONS / "any_specs_location.py"
DG_EXAMPLE = REPO / "examples" / "dg_project"
DEFS = Path("src/nexus_example/defs")
SCRIPT = str(Path(sys.executable).parent / "nexus-dagster")
WAIT = 180.0  # seconds, for the script on 2 busy cores

SALES = "selection: [sales]\nparameter_values: {source_bucket: raw}\n"
TAKEN = (
    "is already used by the Python {what} given to build_definitions of this code location; "
    "Dagster wants each name once: rename one of them"
)
JOB_LINE = "taken.yaml:1:1: name: job name `sales_job` " + TAKEN.format(what="job `sales_job`")
SCHEDULE_LINE = "daily.yaml:4:5: schedules[0]: schedule or sensor name `nightly` " + TAKEN.format(
    what="schedule or sensor `nightly`"
)
SENSOR_LINE = "watch.yaml:4:5: sensors[0]: schedule or sensor name `drops` " + TAKEN.format(
    what="schedule or sensor `drops`"
)
UNKNOWN_LINE = "typo.yaml:1:13: selection[0]: unknown asset `sals`; did you mean `sales`?"

CASES = {
    "job": ({"taken.yaml": "name: sales_job\n" + SALES}, [JOB_LINE]),
    "schedule": (
        {"daily.yaml": SALES + "schedules:\n  - cron: '0 2 * * *'\n    name: nightly\n"},
        [SCHEDULE_LINE],
    ),
    "sensor": (
        {"watch.yaml": SALES + "sensors:\n  - {name: drops, type: file, directory: /tmp}\n"},
        [SENSOR_LINE],
    ),
    "job and another problem": (
        {"taken.yaml": "name: sales_job\n" + SALES, "typo.yaml": "selection: [sals]\n"},
        [JOB_LINE, UNKNOWN_LINE],
    ),
}


@contextmanager
def environment(env: Mapping[str, str | None]) -> Iterator[None]:
    """``env`` laid over this process's environment (``None``: unset) for the duration."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        yield


@contextmanager
def imported_as_dagster_does(location: Path) -> Iterator[None]:
    """``location``'s folder on ``sys.path`` (as ``dagster -f`` puts it), and the modules
    imported from it dropped again afterwards, so that the next load imports them anew."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(location.parent))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if Path(file).parent == location.parent:
                del sys.modules[name]


def load_lines(location: Path, env: Mapping[str, str | None]) -> list[str]:
    """The problem lines of the error the location's load raises, as Dagster's `definitions
    validate` loads it (``DAGSTER_IS_DEFS_VALIDATION_CLI=1``)."""
    with (
        environment({**env, VALIDATION_ENV: "1"}),
        imported_as_dagster_does(location),
        pytest.raises(NexusSpecError) as caught,
    ):
        runpy.run_path(str(location))
    return [str(problem) for problem in caught.value.problems]


def validate(location: Path, env: Mapping[str, str]) -> Run:
    return invoke(["validate", "-f", location.name], location.parent, env=env)


@pytest.mark.parametrize("on_spec_error", ["raise", "isolate"])
@pytest.mark.parametrize("case", list(CASES))
def test_validate_reports_a_spec_that_takes_a_python_name_as_the_load_does(
    tmp_path: Path, case: str, on_spec_error: str
) -> None:
    files, expected = CASES[case]
    folder = write_specs(tmp_path / "specs", {"fine.yaml": SALES, **files})
    env = {"NEXUS_SPECS_DIR": str(folder), "NEXUS_ON_SPEC_ERROR": on_spec_error}
    done = validate(PYTHON_NAMES, env)
    lines = [f"{folder}/{line}" for line in expected]
    assert (done.code, done.out.splitlines()) == (1, lines), done.err
    assert done.err == f"{len(lines)} problem(s) in {len(lines)} file(s) under {folder}\n"
    # the very lines of the load's own error
    assert load_lines(PYTHON_NAMES, env) == lines


def test_an_isolating_location_loads_around_the_spec_and_validate_still_fails(
    tmp_path: Path,
) -> None:
    folder = write_specs(tmp_path / "specs", {"fine.yaml": SALES, **CASES["job"][0]})
    env = {"NEXUS_SPECS_DIR": str(folder), "NEXUS_ON_SPEC_ERROR": "isolate"}
    with environment({**env, VALIDATION_ENV: None}), imported_as_dagster_does(PYTHON_NAMES):
        defs = runpy.run_path(str(PYTHON_NAMES))["defs"]
    # the location loads: the Python job keeps its name, the spec becomes a problem job
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    assert jobs == ["fine", "sales_job", "taken"]
    assert JOB_LINE in (defs.resolve_job_def("taken").description or "")
    done = validate(PYTHON_NAMES, env)
    assert (done.code, done.out) == (1, f"{folder}/{JOB_LINE}\n"), done.err


def test_validate_passes_specs_that_take_no_python_name(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "fine.yaml": SALES,
            "daily.yaml": SALES + "schedules:\n  - cron: '0 2 * * *'\n    name: daily\n",
        },
    )
    done = validate(PYTHON_NAMES, {"NEXUS_SPECS_DIR": str(folder)})
    assert (done.code, done.out) == (0, f"ok: 2 job spec(s) in {folder}\n"), done.err


def test_validate_loads_a_location_of_dg_definitions_as_dagster_does(tmp_path: Path) -> None:
    # `@dg.definitions`: Dagster calls the function when it loads the location.
    (tmp_path / "lazy_location.py").write_text(
        textwrap.dedent(
            """\
            import dagster as dg

            from nexus_dagster import NexusParams, build_definitions, nexus_asset


            @nexus_asset(params={"source_bucket": "string!"})
            def sales(context: dg.AssetExecutionContext, params: NexusParams) -> None:
                params.for_asset(context)


            @dg.definitions
            def defs() -> dg.Definitions:
                sales_job = dg.define_asset_job("sales_job", selection=[sales])
                return build_definitions("specs", assets=[sales], jobs=[sales_job])
            """
        )
    )
    folder = write_specs(tmp_path / "specs", {"fine.yaml": SALES})
    done = invoke(["validate", "-f", "lazy_location.py"], tmp_path)
    assert (done.code, done.out) == (0, "ok: 1 job spec(s) in specs\n"), done.err
    write_specs(folder, CASES["job"][0])
    done = invoke(["validate", "-f", "lazy_location.py"], tmp_path)
    assert (done.code, done.out) == (1, f"specs/{JOB_LINE}\n"), done.err


@pytest.mark.parametrize("on_spec_error", ["raise", "isolate"])
def test_validate_reports_a_schedule_run_config_that_dagster_refuses(
    tmp_path: Path, on_spec_error: str
) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "config_job.yaml": """
                selection: [u_config]
                parameter_values: {bucket: b}
                schedules:
                  - cron: "0 * * * *"
                    run_config:
                      ops: {u_config: {config: {limit: two}}}
            """
        },
    )
    env = {"NEXUS_SPECS_DIR": str(folder), "NEXUS_ON_SPEC_ERROR": on_spec_error}
    line = (
        f"{folder}/config_job.yaml:5:5: schedules[0].run_config: Dagster refuses this run config: "
        'Invalid scalar at path root:ops:u_config:config:limit. Value "two" of type '
        '"<class \'str\'>" is not valid for expected type "Int".; Missing required config entry '
        '"warehouse" at path root:resources. You must provide this value in your run config. '
        "Example config for the missing entry: {'warehouse': {'config': {'dsn': '...'}}}"
    )
    done = validate(ANY_SPECS, env)
    assert (done.code, done.out) == (1, line + "\n"), done.err
    assert load_lines(ANY_SPECS, env) == [line]


# --- a dg project ------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(DG_EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


ENV = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}


def write(root: Path, relative: str | Path, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.mark.parametrize("on_spec_error", ["raise", "isolate"])
def test_validate_in_a_dg_project_reports_python_names_of_other_defs_folders(
    project: Path, on_spec_error: str
) -> None:
    # A job and a schedule of the project's Python code; one component's spec takes the job's
    # name beside a spec with another problem, the other component's spec the schedule's.
    write(
        project,
        DEFS / "ingestion/jobs.py",
        """\
        import dagster as dg

        sales_job = dg.define_asset_job("sales_job", selection=["sales_ingestion_asset"])
        report_daily = dg.ScheduleDefinition(
            name="report_daily", cron_schedule="0 5 * * *", job_name="sales_job"
        )
        """,
    )
    component = "type: nexus_dagster.NexusJobsComponent\nattributes:\n"
    write(project, DEFS / "sales_jobs/defs.yaml", f"{component}  on_spec_error: {on_spec_error}\n")
    write(
        project,
        DEFS / "reporting_jobs/defs.yaml",
        f"{component}  assets_from: [ingestion]\n  on_spec_error: {on_spec_error}\n",
    )
    write(project, DEFS / "sales_jobs/job_specs/typo_job.yaml", "selection: [sales_ingestoin]\n")
    write(
        project,
        DEFS / "reporting_jobs/job_specs/report_job.yaml",
        """\
        selection: [report]
        schedules:
          - {name: report_daily, cron: "0 7 * * *"}
        """,
    )
    where = "in src/nexus_example/defs/ingestion of this code location; Dagster wants each name "
    lines = [
        f"{DEFS.as_posix()}/reporting_jobs/job_specs/report_job.yaml:3:5: schedules[0]: schedule "
        "or sensor name `report_daily` is already used by the Python schedule or sensor "
        f"`report_daily` {where}once: rename one of them",
        f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:1:1: job name `sales_job` is "
        f"already used by the Python job `sales_job` {where}once: rename one of them",
        f"{DEFS.as_posix()}/sales_jobs/job_specs/typo_job.yaml:1:13: selection[0]: unknown asset "
        "`sales_ingestoin`; did you mean `sales_ingestion_asset`?",
    ]
    done = subprocess.run(
        [SCRIPT, "validate"], cwd=project, capture_output=True, text=True, timeout=WAIT, env=ENV
    )
    assert (done.returncode, done.stdout.splitlines()) == (1, lines), done.stderr
    assert done.stderr == "3 problem(s) in 3 file(s) of dg project .\n"


def test_validate_in_a_dg_project_loads_it_from_its_definitions_module(project: Path) -> None:
    # A job the project's `definitions.py` adds beside its defs folder, which no component
    # sees: `dg check defs` (which loads that module) fails, and so does `validate`.
    write(
        project,
        "src/nexus_example/definitions.py",
        """\
        from pathlib import Path

        import dagster as dg

        sales_job = dg.define_asset_job("sales_job", selection=["sales_ingestion_asset"])


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.Definitions.merge(
                dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
                dg.Definitions(jobs=[sales_job]),
            )
        """,
    )
    done = subprocess.run(
        [SCRIPT, "validate"], cwd=project, capture_output=True, text=True, timeout=WAIT, env=ENV
    )
    assert (done.returncode, done.stdout) == (
        1,
        "dg project .: Dagster refuses to load the code location: DagsterInvalidDefinitionError: "
        "Duplicate definition found for unresolved job 'sales_job'\n",
    ), done.stderr

"""One rule decides each value's source: ``render`` before a launch, the ``nexus/params`` record
of a real run, ``runs --asset`` and ``diff`` (and its reading of a run's stored config for an
asset that did not materialize) agree on every value and its source."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nexus_dagster.catalog import Catalog
from nexus_dagster.run_history import _from_run_config, asset_params, launched
from nexus_dagster.spec import load_job_specs

from .cli_support import invoke

# The runs of every case are made once per module (the `runs` fixture): one xdist worker.
pytestmark = pytest.mark.xdist_group("test_resolution")

LOCATION = """
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(params={"x": "int", "y": "int", "token": "secret"})
def a(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@nexus_asset(params={"x": "int"})
def b(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    if params.for_asset(context)["x"] < 0:
        raise ValueError("b fails on a negative x, so that it does not materialize")


ASSETS = [a, b]
defs = build_definitions(Path(__file__).parent / "specs", assets=ASSETS)
"""

SPEC = """
selection: [a, b]
parameter_values:
  x: 1
  token: {env: NEXUS_AGREE_TOKEN}
ops_config:
  a: {y: 7}
"""

ENV = {"NEXUS_AGREE_TOKEN": "t-one", "NEXUS_AGREE_OTHER": "t-two"}
# the value of NEXUS_AGREE_TOKEN in one more run, launched as "left out" is (`more_runs`)
OTHER_VALUE = "t-three"
SECRET_VALUES = (*ENV.values(), OTHER_VALUE)

# launch values -> what each asset must resolve: {asset: {param: (shown value, source)}}
CASES: dict[str, tuple[dict[str, Any], dict[str, dict[str, tuple[Any, str]]]]] = {
    "equal to the spec's": (
        {"x": 1, "a.y": 7},
        {
            "a": {"x": (1, "default"), "y": (7, "default"), "token": (SECRET := "***", "default")},
            "b": {"x": (1, "default")},
        },
    ),
    "differs from the spec's": (
        {"x": 2, "a.y": 8},
        {
            "a": {"x": (2, "shared"), "y": (8, "per-asset"), "token": (SECRET, "default")},
            "b": {"x": (2, "shared")},
        },
    ),
    "left out": (
        {},
        {
            "a": {"x": (1, "default"), "y": (7, "default"), "token": (SECRET, "default")},
            "b": {"x": (1, "default")},
        },
    ),
    "a per-asset override of a shared value": (
        {"b.x": 3},
        {
            "a": {"x": (1, "default"), "y": (7, "default"), "token": (SECRET, "default")},
            "b": {"x": (3, "per-asset")},
        },
    ),
    "a secret": (
        {"a.token": {"env": "NEXUS_AGREE_OTHER"}},
        {
            "a": {"x": (1, "default"), "y": (7, "default"), "token": (SECRET, "per-asset")},
            "b": {"x": (1, "default")},
        },
    ),
}
REFERENCES = {"a secret": {"env": "NEXUS_AGREE_OTHER"}}


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("agree")
    (folder / "specs").mkdir()
    (folder / "specs" / "agree_job.yaml").write_text(textwrap.dedent(SPEC))
    (folder / "agree_location.py").write_text(LOCATION)
    (folder / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**ENV, "DAGSTER_HOME": str(folder / "home")}.items():
            patch.setenv(name, value)
        yield folder


def _module(folder: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "nexus_agree_location", folder / "agree_location.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(location: Path) -> dict[str, str]:
    """One real run of the job per case, in the instance of ``DAGSTER_HOME``."""
    job = _module(location).defs.resolve_job_def("agree_job")
    with dg.DagsterInstance.get() as instance:
        return {
            case: job.execute_in_process(run_config=values, instance=instance).run_id
            for case, (values, _) in CASES.items()
        }


@pytest.fixture(scope="module")
def more_runs(location: Path) -> dict[str, str]:
    """Two more runs of the job: one where `b` fails (launched with `b.x: -1`), so that it does
    not materialize; and one launched as "left out" is, with another value behind the secret's
    variable."""
    job = _module(location).defs.resolve_job_def("agree_job")
    with dg.DagsterInstance.get() as instance:
        failed = job.execute_in_process(
            run_config={"b.x": -1}, instance=instance, raise_on_error=False
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("NEXUS_AGREE_TOKEN", OTHER_VALUE)
            other_value = job.execute_in_process(run_config={}, instance=instance)
    assert not failed.success and other_value.success
    return {"b failed": failed.run_id, "other secret value": other_value.run_id}


def assert_no_secret_value(*texts: str) -> None:
    for value in SECRET_VALUES:
        assert not any(value in text for text in texts), value


def rendered(location: Path, values: Mapping[str, Any]) -> dict[str, dict[str, tuple[Any, str]]]:
    """What ``nexus-dagster render`` prints, per asset: each parameter's value and source."""
    sets = [f"--set={name}={json.dumps(value)}" for name, value in values.items()]
    done = invoke(["render", "agree_job", "-f", "agree_location.py", *sets], location)
    assert done.code == 0, done.err
    assert_no_secret_value(done.out, done.err)
    table: dict[str, dict[str, tuple[Any, str]]] = {}
    asset = ""
    for line in done.out.split("\nrun config")[0].splitlines():
        if not line.startswith(" "):
            asset = line
            table[asset] = {}
        elif not line.strip().startswith("PARAM"):
            param, value, source, _field = [cell for cell in line.strip().split("  ") if cell]
            table[asset][param] = (
                SECRET if value.startswith(SECRET) else json.loads(value),
                source,
            )
    return table


def recorded(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, tuple[Any, str]]]:
    """The ``nexus/params`` record of each asset materialized in the run."""
    out: dict[str, dict[str, tuple[Any, str]]] = {}
    for event in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        materialization = event.event_log_entry.asset_materialization
        assert materialization is not None
        table = materialization.metadata["nexus/params"].value
        out[materialization.asset_key.to_user_string()] = {
            param: (item["value"], item["source"]) for param, item in table.items()
        }
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_render_the_record_runs_and_diff_agree_on_value_and_source(
    location: Path, runs: dict[str, str], case: str
) -> None:
    values, expected = CASES[case]
    run_id = runs[case]
    assert rendered(location, values) == expected

    with dg.DagsterInstance.get() as instance:
        assert recorded(instance, run_id) == expected
        record_a = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        assert len(record_a) == 2
        # what `diff` reads: the records, and for an asset that did not materialize the run's
        # stored config resolved over the spec's current values
        module = _module(location)
        [spec] = load_job_specs(location / "specs", module.ASSETS)
        catalog = Catalog(module.ASSETS)
        used = asset_params(instance, run_id, spec, catalog).assets
        fallback, problems = _from_run_config(
            launched(instance, run_id).values, spec.fields, catalog, ["a", "b"]
        )
    assert problems == []
    for reading in (used, fallback):
        shown = {
            asset: {
                param: (SECRET if use.secret else use.value, use.source)
                for param, use in params.items()
            }
            for asset, params in reading.items()
        }
        assert shown == expected
    reference = REFERENCES.get(case, {"env": "NEXUS_AGREE_TOKEN"})
    assert used["a"]["token"].value == fallback["a"]["token"].value == reference

    done = invoke(["runs", "--asset", "b", "--json", "--limit", "20"], location)
    assert done.code == 0, done.err
    [listed] = [row for row in json.loads(done.out) if row["run_id"] == run_id]
    assert {p: (v["value"], v["source"]) for p, v in listed["values"].items()} == expected["b"]
    secret = invoke(["runs", "--asset", "a", "--limit", "20"], location)
    assert secret.code == 0 and run_id in secret.out, secret.err
    assert_no_secret_value(secret.out, secret.err)


def test_diff_shows_each_runs_own_value_and_source(location: Path, runs: dict[str, str]) -> None:
    base = runs["left out"]
    for case, run_id in runs.items():
        done = invoke(["diff", base, run_id, "--json", "-f", "agree_location.py"], location)
        assert done.out, done.err
        assert_no_secret_value(done.out, done.err)
        changed = json.loads(done.out)["assets"]
        _, expected = CASES[case]
        _, left_out = CASES["left out"]
        for asset, params in expected.items():
            for param, (value, source) in params.items():
                if (value, source) == left_out[asset][param] and not (
                    case == "a secret" and param == "token"
                ):
                    assert param not in changed.get(asset, {}), (case, asset, param)
                    continue
                side = changed[asset][param]["b"]
                shown = SECRET if side["value"] == REFERENCES.get(case) else side["value"]
                assert (shown, side["source"]) == (value, source), (case, asset, param)
        assert done.code == (1 if changed else 0), done.err


def test_diff_reads_an_asset_that_did_not_materialize_from_its_run_config(
    location: Path, runs: dict[str, str], more_runs: dict[str, str]
) -> None:
    base, failed = runs["left out"], more_runs["b failed"]
    with dg.DagsterInstance.get() as instance:
        assert list(recorded(instance, failed)) == ["a"]  # `b` did not materialize
    note = (
        f"run {failed}: `b` recorded no parameters (not materialized in that run): read from "
        "its run config over the spec's current values"
    )
    done = invoke(["diff", base, failed, "--json", "-f", "agree_location.py"], location)
    assert done.code == 1, done.err
    out = json.loads(done.out)
    # `a` materialized in both runs with the same values; `b` only in the first
    assert out["assets"] == {
        "b": {
            "x": {
                "a": {"value": 1, "source": "default", "field": "x", "from": "materialization"},
                "b": {"value": -1, "source": "per-asset", "field": "b.x", "from": "run config"},
            }
        }
    }
    assert out["notes"] == [note]

    text = invoke(["diff", base, failed, "-f", "agree_location.py"], location)
    assert text.code == 1, text.err
    assert "  x      1 (default)  -1 (per-asset, from run config)" in text.out.splitlines()
    assert f"note: {note}" in text.err


def test_a_secret_is_compared_by_its_reference_never_by_its_value(
    location: Path, runs: dict[str, str], more_runs: dict[str, str]
) -> None:
    # the same reference, `{env: NEXUS_AGREE_TOKEN}`, read as `t-one` and as `t-three`
    base, other = runs["left out"], more_runs["other secret value"]
    done = invoke(["diff", base, other, "--json", "-f", "agree_location.py"], location)
    assert done.code == 0, done.out + done.err
    assert json.loads(done.out)["assets"] == {}
    text = invoke(["diff", base, other, "-f", "agree_location.py"], location)
    assert text.code == 0 and "no parameter differs" in text.out, text.out + text.err
    # another reference differs, and shows only as the reference
    changed = invoke(["diff", base, runs["a secret"], "-f", "agree_location.py"], location)
    assert changed.code == 1, changed.err
    assert "env NEXUS_AGREE_OTHER" in changed.out and "env NEXUS_AGREE_TOKEN" in changed.out
    assert_no_secret_value(done.out, done.err, text.out, text.err, changed.out, changed.err)

"""A spec edited while a run is in flight must not silently change what later steps see: each
step of the multiprocess executor rebuilds the job from the files, and resolves the values the
run was launched with (the first step left them in the instance).

The launching ``dagster job execute`` is a process of its own forked from one that has imported
Dagster (``forked_dagster``); it imports the location anew, and its steps are processes of their
own, forked from a forkserver, each importing the location and reading the specs again."""

import json
import os
from pathlib import Path

import pytest
import yaml

from .conftest import FORKSERVER, new_dagster_home, write_specs
from .forked_dagster import dagster

LOCATION = Path(__file__).parent / "locations" / "consistency_location.py"
CLI_TIMEOUT = 180  # seconds, for a `dagster job execute`


@pytest.mark.parametrize("partitioned", [False, True], ids=["flat", "partitioned"])
def test_later_steps_resolve_the_launch_values_after_an_edit(
    tmp_path: Path, partitioned: bool
) -> None:
    selection = "[p_first, p_second]" if partitioned else "[first, second]"
    specs = write_specs(
        tmp_path / "specs",
        {"edit_job.yaml": f"selection: {selection}\nparameter_values:\n  bucket: before\n"},
    )
    home = new_dagster_home(tmp_path / "home")
    run_config = tmp_path / "run.yaml"
    run_config.write_text(yaml.safe_dump(FORKSERVER))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_TEST_SPECS": str(specs),
        "PROBE_OUT": str(tmp_path / "out"),
        "EDIT_SPEC_DURING_RUN": "1",
    }
    result = dagster(
        ["job", "execute", "-f", str(LOCATION), "-j", "edit_job", "-c", str(run_config)]
        + (["--tags", json.dumps({"dagster/partition": "b"})] if partitioned else []),
        env=env,
        timeout=CLI_TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert "Executing steps using multiprocess executor" in output
    assert result.returncode == 0, output[-3000:]
    # `second` ran in a process that loaded the edited spec, and still resolved the launch value
    assert json.loads((tmp_path / "out" / "second.json").read_text()) == {"bucket": "before"}
    assert "bucket: after" in (specs / "edit_job.yaml").read_text()  # `first` edited it

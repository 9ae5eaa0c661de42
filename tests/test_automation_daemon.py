"""Declarative automation through the real daemon, `dagster-daemon run` (what `dagster dev`
starts beside its webserver, which plays no part here): an automation condition sensor (running
by default) requests a run of an asset whose condition holds while it was never materialized
(tests/locations/automation_location.py); the run it launches has no run config, and the asset
takes the values of its `asset_defaults` spec."""

import json
import os
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from .conftest import new_dagster_home, write_specs
from .ui_support import DAGSTER, _stop

LOCATION = Path(__file__).parent / "locations" / "automation_location.py"
# The daemon starts within START_TIMEOUT; its first evaluation of the sensor requests
# the run at once, and the run ends within RUN_TIMEOUT.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0

pytestmark = pytest.mark.timeout(START_TIMEOUT + 2 * RUN_TIMEOUT + 60)


def test_automation_condition_sensor_runs_the_asset_with_its_spec_values(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "specs",
        {
            "ticks.yaml": """
                asset_defaults: true
                selection: [ticked]
                parameter_values: {bucket: auto-lake}
                ops_config: {ticked: {n: 7}}
            """
        },
    )
    home = new_dagster_home(tmp_path / "home")
    out = tmp_path / "out"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_TEST_SPECS": str(specs),
        "PROBE_OUT": str(out),
    }
    log = tmp_path / "daemon.log"
    command = [str(DAGSTER.parent / "dagster-daemon"), "run", "-f", str(LOCATION)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        # The asset's code runs in the requested run: it writes its rendered config.
        waited = START_TIMEOUT + RUN_TIMEOUT
        deadline = time.monotonic() + waited
        written: list[Path] = []
        while not written and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
            written = sorted(out.glob("ticked-*.json"))
        assert written, f"no automated run within {waited:.0f} s:\n{log.read_text()[-3000:]}"
        run_id = written[0].stem.removeprefix("ticked-")
        deadline = time.monotonic() + RUN_TIMEOUT
        with dg.DagsterInstance.from_config(str(home)) as instance:
            status = None
            while time.monotonic() < deadline:
                run = instance.get_run_by_id(run_id)
                assert run is not None
                status = run.status
                if status in {
                    dg.DagsterRunStatus.SUCCESS,
                    dg.DagsterRunStatus.FAILURE,
                    dg.DagsterRunStatus.CANCELED,
                }:
                    break
                time.sleep(0.5)
            assert status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
            # Written by the run's step, complete once the run has ended.
            assert json.loads(written[0].read_text()) == {"uri": "s3://auto-lake/ticks/7"}
            assert run.job_name == "__ASSET_JOB"
            assert run.tags.get("dagster/from_automation_condition") == "true"
            assert run.tags.get("dagster/sensor_name") == "nexus_automation"
            assert run.run_config == {}
            records = instance.fetch_materializations(dg.AssetKey("ticked"), limit=1).records
            materialization = records[0].event_log_entry.asset_materialization
            assert materialization is not None
            metadata = {k: v.value for k, v in materialization.metadata.items()}
        assert metadata["nexus/spec"] == "ticks"
        assert metadata["nexus/params"] == {
            "bucket": {"value": "auto-lake", "source": "default", "field": "bucket"},
            "n": {"value": 7, "source": "default", "field": "ticked.n"},
        }
        # The values table (nexus/values) is a Dagster record, not JSON: its rows are the record's.
        shown = {k: v for k, v in metadata.items() if k != "nexus/values"}
        print(json.dumps({"run_id": run_id, "tags": dict(run.tags), "metadata": shown}))
    finally:
        _stop(process)

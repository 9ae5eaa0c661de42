"""Runs or re-executes one job of tests/locations/reexec_location.py with `dagster.execute_job`
in a process of its own (so that it loads the spec files as they are now, as a reloaded
webserver does), one run after another, and prints each run's id and outcome as a JSON line.

    python reexec_driver.py JOB RUN [RUN ...]

Each RUN is `EXECUTOR` (a new run) or `EXECUTOR:HOW:PARENT_RUN_ID[:other]` (a re-execution;
HOW is `from_failure`, or the one step to re-execute; `other`: given `bucket: other`). JOB `__ASSET_JOB` is a run outside spec jobs of
both assets (the asset graph's Materialize).
"""

import json
import sys
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

OTHER_OUTSIDE = {"resources": {"params": {"config": {"values": {"bucket": "other"}}}}}
EXECUTION = {
    "in_process": {"execution": {"config": {"in_process": {}}}},
    "multiprocess": {
        "execution": {"config": {"multiprocess": {"start_method": {"forkserver": {}}}}}
    },
}


def main(job_name: str, *runs: str) -> None:
    for run in runs:
        execute(job_name, *run.split(":"))


def execute(
    job_name: str, executor: str, how: str = "", parent: str = "", values: str = ""
) -> None:
    location = Path(__file__).parent / "reexec_location.py"
    job = ReconstructableRepository.for_file(str(location), "defs").get_reconstructable_job(
        job_name
    )
    if job_name == "__ASSET_JOB":
        job = job.get_subset(asset_selection={dg.AssetKey("first"), dg.AssetKey("second")})
    instance = dg.DagsterInstance.get()
    options = None
    if how == "from_failure":
        options = dg.ReexecutionOptions.from_failure(parent, instance)
    elif how:
        options = dg.ReexecutionOptions(parent_run_id=parent, step_selection=[how])
    # `bucket: other` given to the re-execution, in the job's own form
    given = {}
    if values == "other":
        given = {"bucket": "other"} if job_name != "__ASSET_JOB" else OTHER_OUTSIDE
    result = dg.execute_job(
        job,
        instance,
        run_config={**EXECUTION[executor], **given},
        reexecution_options=options,
        raise_on_error=False,
    )
    # a step's failure, or the resources' before any step (the in-process executor)
    failures = [
        error.to_string()
        for event in result.all_events
        if (error := getattr(event.event_specific_data, "error", None)) is not None
    ]
    print(json.dumps({"run_id": result.run_id, "success": result.success, "failures": failures}))


if __name__ == "__main__":
    main(*sys.argv[1:])

"""One measurement, run in a fresh interpreter by ``run.py`` and printed as one JSON line.

    probe.py load DIR nexus|plain [--snapshot]   import the location, resolve every job
    probe.py validate DIR                        check every spec of DIR/job_specs
    probe.py run DIR REPS LOOPS [--no-warm-up]   runs of the 20-asset job, both twins alternating
                                                 (of one partition, in a partitioned location;
                                                 --no-warm-up: the smoke run's, no untimed run)
    probe.py step DIR nexus|plain JOB            a step process's start: import, one job
    probe.py mprun DIR nexus|plain [--fork]      one multiprocess run of the four-asset job
                                                 (--fork: the smoke run's cheap step processes,
                                                 forked from the probe, which has imported
                                                 Dagster and the twin's assets)

Times are wall-clock seconds (``perf_counter``) with the CPU seconds of the same phase beside
them; memory is the peak resident set size in MB.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

T0 = time.perf_counter()
C0 = time.process_time()


def _peak_mb() -> float:
    # The high-water mark of this process's memory. Not `getrusage`: its `ru_maxrss` survives
    # `exec`, so it would report the parent's peak when that was higher.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Phase:
    def __init__(self, results: dict[str, Any], name: str) -> None:
        self.results, self.name = results, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.results[self.name] = time.perf_counter() - self.wall
        self.results[self.name + "_cpu"] = time.process_time() - self.cpu


def load(folder: str, twin: str, snapshot: bool) -> dict[str, Any]:
    """What a code server does: import the location (which builds ``Definitions``) and resolve
    every job; with ``snapshot``, also the snapshot it sends the webserver."""
    results: dict[str, Any] = {"twin": twin}
    with _Phase(results, "dagster"):
        import dagster  # noqa: F401

    results["rss_dagster_mb"] = _peak_mb()
    sys.path.insert(0, folder)
    os.chdir(folder)
    with _Phase(results, "import"):
        module = __import__(f"{twin}_location")
    with _Phase(results, "resolve"):
        repo = module.defs.get_repository_def()
        jobs = repo.get_all_jobs()
    results["jobs"] = len(jobs)
    results["schedules"] = len(repo.schedule_defs)
    results["rss_mb"] = _peak_mb()
    if snapshot:
        from dagster._core.remote_representation.external_data import RepositorySnap

        with _Phase(results, "snapshot"):
            RepositorySnap.from_def(repo)
    results["since_start"] = time.perf_counter() - T0
    return results


def validate(folder: str) -> dict[str, Any]:
    """``nexus-dagster validate`` in this process, timed beyond the interpreter and the imports
    of dagster and nexus_dagster; then, from the same warm process, the spec check alone
    (``load_job_specs(dir, assets)``), which is what validate does once the location is loaded.
    Without the command line, only the spec check is timed."""
    results: dict[str, Any] = {}
    with _Phase(results, "dagster"):
        import dagster

        import nexus_dagster

    sys.path.insert(0, folder)
    os.chdir(folder)
    cli_main: Callable[[list[str]], object] | None
    try:
        from nexus_dagster.cli import main as cli_main
    except ImportError:
        cli_main = None
    results["cli"] = cli_main is not None
    if cli_main is not None:
        with _Phase(results, "validate"), contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                cli_main(["validate", "-f", "nexus_location.py"])
            except SystemExit as exit_:
                results["exit_code"] = exit_.code
        results["output"] = out.getvalue().strip().splitlines()[-1:]
    with _Phase(results, "assets"):
        assets = __import__("nexus_assets").assets
    with _Phase(results, "specs"):
        specs = nexus_dagster.load_job_specs("job_specs", assets=assets)
    results["spec_count"] = len(specs)
    os.environ["NEXUS_DAGSTER_CACHE"] = "off"
    with _Phase(results, "specs_cold"):
        nexus_dagster.load_job_specs("job_specs", assets=assets)
    del os.environ["NEXUS_DAGSTER_CACHE"]
    # The two halves of the command, apart: importing the location (the assets, and
    # `build_definitions`, which checks every spec) and what validate then asks Dagster (build
    # the repository and resolve every job, as `dagster definitions validate` does). A fresh
    # module, so that nothing the command built is reused.
    import importlib.util

    module_spec = importlib.util.spec_from_file_location(
        "nexus_location_again", "nexus_location.py"
    )
    assert module_spec is not None and module_spec.loader is not None
    location = importlib.util.module_from_spec(module_spec)
    with _Phase(results, "location"):
        module_spec.loader.exec_module(location)
    with _Phase(results, "dagster_check"):
        dagster.Definitions.validate_loadable(location.defs)
    return results


def run(folder: str, reps: int, loops: int, warm_up: bool = True) -> dict[str, Any]:
    """Runs of the 20-asset job in process, nexus and plain alternating (A B A B), after one
    warm-up run each (none without ``warm_up``: ``run.py --smoke``); then one run each with
    ``loops`` calls of ``for_asset`` and ``render`` timed inside every asset.

    In a partitioned location (``run_config.json`` names a ``partition_key``), each run is of
    that partition, with the run config the job's ``PartitionedConfig`` gives it (as a schedule,
    a backfill or the launchpad launches it); getting that config is timed as part of the run.
    """
    import dagster as dg

    sys.path.insert(0, folder)
    os.chdir(folder)
    setup = json.loads(Path("run_config.json").read_text())
    twins: dict[str, tuple[Any, Any]] = {}
    for twin in ("nexus", "plain"):
        location = __import__(f"{twin}_location")
        twins[twin] = (location.defs.resolve_job_def(setup["job"]), __import__(f"{twin}_assets"))
    instance = dg.DagsterInstance.ephemeral()

    materialized: dict[str, int] = {}
    partitions: dict[str, list[str | None]] = {}
    key = setup.get("partition_key")

    def one_run(twin: str) -> float:
        job = twins[twin][0]
        start = time.perf_counter()
        if key is None:
            result = job.execute_in_process(run_config=setup["run_config"], instance=instance)
        else:
            result = job.execute_in_process(
                run_config=job.partitioned_config.get_run_config_for_partition_key(key),
                partition_key=key,
                instance=instance,
            )
        elapsed = time.perf_counter() - start
        assert result.success
        events = result.get_asset_materialization_events()
        materialized[twin] = len(events)
        partitions[twin] = sorted({e.partition for e in events}, key=str)
        return elapsed

    results: dict[str, Any] = {"nexus": [], "plain": []}
    for twin in twins if warm_up else ():
        one_run(twin)
    for _ in range(reps):
        for twin in ("nexus", "plain"):
            results[twin].append(one_run(twin))
    for twin, (_, assets_module) in twins.items():
        assets_module.MICRO_LOOPS = loops
        one_run(twin)
        assets_module.MICRO_LOOPS = 0
        for call, times in assets_module.MICRO.items():
            results[f"{twin}_{call}_us"] = statistics.median(times) * 1e6 if times else None
            results[f"{twin}_{call}_n"] = len(times)
    results["materialized"] = materialized
    results["partition_key"] = key
    results["partitions"] = partitions
    return results


def step(folder: str, twin: str, job_name: str) -> dict[str, Any]:
    """What each step process of a run does before its step: import the location and get the
    one job it runs, with its run config schema (the multiprocess executor, a Celery worker or
    a Kubernetes step pod, once per step)."""
    results: dict[str, Any] = {"twin": twin}
    with _Phase(results, "dagster"):
        import dagster  # noqa: F401

    sys.path.insert(0, folder)
    os.chdir(folder)
    with _Phase(results, "step"):
        module = __import__(f"{twin}_location")
        module.defs.get_repository_def().get_job(job_name).run_config_schema  # noqa: B018
    results["rss_mb"] = _peak_mb()
    return results


def mprun(folder: str, twin: str, fork: bool = False) -> dict[str, Any]:
    """One run of the four-asset job with the multiprocess executor (every step in a process of
    its own, which imports the location again), on a persistent instance in a temporary folder.
    The location is loaded in this process first, untimed: a run worker has it already.

    With ``fork`` (``run.py --smoke`` only), the step processes are forked from this process,
    which has imported Dagster and the twin's assets, instead of each being a fresh interpreter:
    every step still runs in a process of its own, and imports the location again, in seconds
    rather than a minute."""
    import tempfile

    import dagster as dg

    sys.path.insert(0, folder)
    os.chdir(folder)
    setup = json.loads(Path("run_config.json").read_text())
    job_name = setup["mp_job"]
    module = __import__(f"{twin}_location")
    job = module.defs.resolve_job_def(job_name)
    key = setup.get("partition_key")
    run_config: dict[str, Any] = {}
    tags: dict[str, str] = {}
    if key is not None:
        run_config = job.partitioned_config.get_run_config_for_partition_key(key)
        tags = {"dagster/partition": key}
    if fork:
        _fork_steps(f"{twin}_location")
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repo = ReconstructableRepository.for_file(
        str(Path(folder) / f"{twin}_location.py"), "defs", working_directory=folder
    )
    results: dict[str, Any] = {"twin": twin, "job": job_name}
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        with dg.DagsterInstance.from_config(home) as instance:
            with _Phase(results, "run"):
                result = dg.execute_job(
                    repo.get_reconstructable_job(job_name),
                    instance=instance,
                    run_config=run_config,
                    tags=tags,
                )
            assert result.success, "the multiprocess run failed"
            results["steps"] = len(result.get_step_success_events())
            results["pids"] = len(
                {e.pid for e in result.all_events if e.is_step_start and e.pid is not None}
            )
    return results


MODES: dict[str, Callable[..., dict[str, Any]]] = {
    "load": load,
    "validate": validate,
    "run": run,
    "step": step,
    "mprun": mprun,
}


def _fork_steps(location: str) -> None:
    """Make this process's multiprocess executor fork its step processes from this process
    (the ``fork`` start method), for both twins (the plain twin's flat config mapping has no
    ``execution`` section to choose a start method in). Each step process drops the module
    ``location`` and the job this process loaded from it, so that it imports the location
    again, as a step process does: what Dagster's forkserver with the twin's assets preloaded
    would give each step, without a new interpreter that imports Dagster for every run."""
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._core.executor.multiprocess import MultiprocessExecutor

    def forget_location() -> None:
        sys.modules.pop(location, None)
        ReconstructableJob.get_definition.cache_clear()
        ReconstructableJob.get_repository_definition.cache_clear()

    os.register_at_fork(after_in_child=forget_location)
    init = MultiprocessExecutor.__init__

    def forking(self: MultiprocessExecutor, *args: Any, **kwargs: Any) -> None:
        kwargs.update(start_method="fork")
        init(self, *args, **kwargs)

    MultiprocessExecutor.__init__ = forking  # type: ignore[method-assign]


def main(argv: list[str]) -> dict[str, Any]:
    """The measurement ``argv`` (``MODE ARGS...``, as on the command line) names."""
    mode, *args = argv
    if mode == "load":
        return load(args[0], args[1], "--snapshot" in args)
    if mode == "validate":
        return validate(args[0])
    if mode == "step":
        return step(args[0], args[1], args[2])
    if mode == "mprun":
        return mprun(args[0], args[1], "--fork" in args)
    return run(args[0], int(args[1]), int(args[2]), "--no-warm-up" not in args)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))

"""Benchmarks of nexus-dagster against plain Dagster doing the same work (``make bench``).

Generates synthetic code locations (2,000 assets; N specs of 4-8 assets, each with a schedule;
and one 20-asset job), each twice: with nexus-dagster and in plain Dagster. Every figure is
measured for both twins alternately (A B A B ...) in this one invocation, and reported as medians
and the ratio nexus / plain. Each load is a fresh interpreter, so import costs are counted.

    .venv/bin/python bench/run.py                  # the full run, about 12 minutes on 2 cores
    .venv/bin/python bench/run.py --smoke          # 5 specs, one repetition (used by the tests)
    .venv/bin/python bench/run.py --sizes 100,500 --reps 3 --json results.json
    .venv/bin/python bench/run.py --only partitioned --sizes 300 --reps 3

``--smoke`` proves that every measurement runs and every table prints, in seconds: 5 specs
over 100 assets, one repetition of each figure, no untimed warm-up, and its figures mean
nothing. Its probes are forked from this process once it has imported Dagster (not fresh
interpreters), and the steps of its multiprocess runs are forked from their probe, which has
imported the twin's assets (not spawned, each importing Dagster and the assets again); each step
still imports the twin's location again.

The partitioned figures (table 5) measure the same location with every asset daily-partitioned,
so that every spec is a partitioned job (a ``PartitionedConfig`` instead of a ``ConfigMapping``):
the load at the judged N, and one run of the 20-asset job for one partition. ``--only
partitioned`` measures those alone (the load at every N of ``--sizes``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import generate

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe.py"
LOAD_SIZE = 500
"""The N at which the load target (at most 1.10x plain) is judged."""


CACHE_ENV: dict[str, str] = {}
"""Where the probes keep nexus-dagster's cache of checked specs (set by ``main``)."""

WARM: ModuleType | None = None
"""``probe.py`` imported in this process, with Dagster, for ``--smoke``: probes are forked."""


def probe(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``probe.py`` in a fresh interpreter and return its JSON line (with ``--smoke``, in
    a child forked from this process)."""
    environment = {
        **os.environ,
        "DAGSTER_HOME": "",
        "PYTHONWARNINGS": "ignore",
        **CACHE_ENV,
        **(env or {}),
    }
    if WARM is not None:
        return _forked_probe(WARM, list(args), environment)
    done = subprocess.run(
        [sys.executable, str(PROBE), *args], capture_output=True, text=True, env=environment
    )
    if done.returncode != 0:
        raise SystemExit(f"probe {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _forked_probe(warm: ModuleType, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """``probe.py ARGS`` in a child forked from this process (``--smoke``): its environment
    replaced by ``env``, its result sent back through a pipe, its stderr kept for a failure."""
    read, write = os.pipe()
    with tempfile.TemporaryFile() as errors:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read)
                os.dup2(errors.fileno(), 2)
                os.environ.clear()
                os.environ.update(env)
                warnings.simplefilter("ignore")  # what PYTHONWARNINGS=ignore does at a start
                measured = warm.main(args)
                with os.fdopen(write, "w") as pipe:
                    pipe.write(json.dumps(measured))
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as pipe:
            text = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"probe {' '.join(args)} failed:\n{tail}")
    result: dict[str, Any] = json.loads(text)
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure_load(folder: Path, reps: int, snapshot: bool) -> dict[str, list[dict[str, Any]]]:
    """``reps`` loads of each twin, alternating nexus and plain, each in a fresh interpreter."""
    runs: dict[str, list[dict[str, Any]]] = {"nexus": [], "plain": []}
    flags = ["--snapshot"] if snapshot else []
    for _ in range(reps):
        for twin in ("nexus", "plain"):
            runs[twin].append(probe("load", str(folder), twin, *flags))
    return runs


def load_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per twin: load (location import + resolving every job), its CPU time, the
    snapshot, the whole process, and the peak memory."""
    out: dict[str, Any] = {}
    for twin, items in runs.items():
        out[twin] = {
            "load": median([r["import"] + r["resolve"] for r in items]),
            "load_cpu": median([r["import_cpu"] + r["resolve_cpu"] for r in items]),
            "import": median([r["import"] for r in items]),
            "resolve": median([r["resolve"] for r in items]),
            "snapshot": median([r.get("snapshot", float("nan")) for r in items]),
            "process": median([r["since_start"] for r in items]),
            "rss_mb": median([r["rss_mb"] for r in items]),
            "rss_over_dagster_mb": median([r["rss_mb"] - r["rss_dagster_mb"] for r in items]),
            "jobs": items[0]["jobs"],
            "schedules": items[0]["schedules"],
        }
    # Each nexus load over the plain load measured right after it: neighbours in time share the
    # machine's state, so the median of these ratios shrugs off a slow spell better.
    out["paired_ratio"] = median(
        [
            (n["import"] + n["resolve"]) / (p["import"] + p["resolve"])
            for n, p in zip(runs["nexus"], runs["plain"], strict=True)
        ]
    )
    return out


COLD = {"NEXUS_DAGSTER_CACHE": "off"}


def measure_step(folder: Path, job: str, reps: int) -> dict[str, Any]:
    """A step process's start, alternating the twins (nexus with its cache filled by the loads
    before it), and nexus with the cache turned off, each in a fresh interpreter."""
    runs: dict[str, list[dict[str, Any]]] = {"nexus": [], "plain": [], "nexus_cold": []}
    for _ in range(reps):
        for twin in ("nexus", "plain"):
            runs[twin].append(probe("step", str(folder), twin, job))
        runs["nexus_cold"].append(probe("step", str(folder), "nexus", job, env=COLD))
    out: dict[str, Any] = {
        twin: {
            "step": median([r["step"] for r in items]),
            "step_cpu": median([r["step_cpu"] for r in items]),
            "rss_mb": median([r["rss_mb"] for r in items]),
        }
        for twin, items in runs.items()
    }
    out["paired_ratio"] = median(
        [n["step"] / p["step"] for n, p in zip(runs["nexus"], runs["plain"], strict=True)]
    )
    out["job"], out["reps"] = job, reps
    return out


def measure_mprun(folder: Path, reps: int, smoke: bool = False) -> dict[str, Any]:
    """Multiprocess runs of the four-asset job, alternating the twins (with ``smoke``, their
    step processes forked from their probe)."""
    runs: dict[str, list[dict[str, Any]]] = {"nexus": [], "plain": []}
    flags = ["--fork"] if smoke else []
    for _ in range(reps):
        for twin in ("nexus", "plain"):
            runs[twin].append(probe("mprun", str(folder), twin, *flags))
    out: dict[str, Any] = {twin: median([r["run"] for r in items]) for twin, items in runs.items()}
    out["paired_ratio"] = median(
        [n["run"] / p["run"] for n, p in zip(runs["nexus"], runs["plain"], strict=True)]
    )
    out["job"], out["reps"] = runs["nexus"][0]["job"], reps
    out["steps"] = runs["nexus"][0]["steps"]
    out["plain_steps"] = runs["plain"][0]["steps"]
    out["step_processes"] = {twin: items[0]["pids"] for twin, items in runs.items()}
    return out


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def judged_size(sizes: Sequence[str]) -> str:
    """The N at which the load is judged: ``LOAD_SIZE`` when measured, else the last of N."""
    return str(LOAD_SIZE) if str(LOAD_SIZE) in sizes else sizes[-1]


def _both(n: float, p: float, paired: float | None = None) -> str:
    text = ratio(n, p)
    return f"{text} (paired {paired:.2f}x)" if paired is not None else text


def _targets_table(results: dict[str, Any]) -> list[str]:
    """Every figure the targets are set for, nexus against plain, in one table."""
    rows: list[str] = []

    def row(figure: str, n: float, p: float | None, ratio_text: str, target: str) -> None:
        plain = f"{p:.2f}" if p is not None else "-"
        rows.append(f"| {figure} | {n:.2f} | {plain} | {ratio_text} | {target} |")

    def compared(figure: str, n: float, p: float, paired: float, target: str) -> None:
        row(figure, n, p, _both(n, p, paired), target)

    def alone(figure: str, seconds: float, target: str = "-") -> None:
        row(figure, seconds, None, "-", target)

    def paired_runs(run: dict[str, Any]) -> tuple[float, float, float]:
        rn, rp = median(run["nexus"]), median(run["plain"])
        return rn, rp, median([a / b for a, b in zip(run["nexus"], run["plain"], strict=True)])

    def step_rows(prefix: str, size: str, st: dict[str, Any], cold: bool) -> None:
        n, p = st["nexus"]["step"], st["plain"]["step"]
        compared(
            f"{prefix}step-process start (import + one job), N = {size} (s)",
            n,
            p,
            st["paired_ratio"],
            "<= 1.05x",
        )
        if cold:
            c = st["nexus_cold"]["step"]
            row(
                f"the same, nexus with no cache (every spec read and checked), N = {size} (s)",
                c,
                p,
                ratio(c, p),
                "-",
            )

    def load_row(prefix: str, size: str, load: dict[str, Any]) -> None:
        compared(
            f"{prefix}code-server load (every job resolved), N = {size} (s)",
            load["nexus"]["load"],
            load["plain"]["load"],
            load["paired_ratio"],
            "<= 1.05x",
        )

    def mprun_row(prefix: str, size: str, mp: dict[str, Any]) -> None:
        compared(
            f"{prefix}multiprocess run of a {mp['steps']}-asset job, N = {size} (s)",
            mp["nexus"],
            mp["plain"],
            mp["paired_ratio"],
            "<= 1.05x",
        )

    sizes = results.get("sizes", [])
    for size, st in results.get("step", {}).items():
        step_rows("", size, st, cold=True)
    if results.get("load"):
        judged = judged_size(sizes)
        load_row("", judged, results["load"][judged])
    if "mprun" in results:
        mprun_row("", results["mprun"]["size"], results["mprun"])
    if "run" in results:
        compared("20-asset run in process (s)", *paired_runs(results["run"]), "<= 1.03x")
    part = results.get("partitioned")
    if part:
        judged = part["size"]
        step_rows("partitioned: ", judged, part["step"], cold=False)
        load_row("partitioned: ", judged, part["load"][judged])
        mprun_row("partitioned: ", judged, part["mprun"])
        compared(
            "partitioned: 20-asset run of one partition (s)", *paired_runs(part["run"]), "<= 1.03x"
        )
    if "validate" in results:
        val = results["validate"]
        count = val["spec_count"]
        alone(f"validate {count} specs: the spec check, cache filled (s)", val["specs"], "<= 0.5 s")
        alone(f"validate {count} specs: the spec check, no cache (s)", val["specs_cold"])
        alone(
            f"validate {count} specs: `build_definitions` (spec check, every job built) (s)",
            val["location"],
        )
        alone(
            f"validate {count} specs: Dagster's own load check (every job resolved) (s)",
            val["dagster_check"],
        )
        if val["cli"]:
            alone(
                f"validate {count} specs: the whole command beyond `import dagster` (s)",
                val["validate"],
            )
    if results.get("load"):
        largest = sizes[-1]
        n, p = results["load"][largest]["nexus"], results["load"][largest]["plain"]
        row(
            f"peak memory of the loaded location, N = {largest} (MB)",
            n["rss_mb"],
            p["rss_mb"],
            ratio(n["rss_mb"], p["rss_mb"]),
            "<= 1.05x",
        )
    if not rows:
        return []
    return [
        "### The targets: every figure, nexus against plain",
        "",
        "| figure | nexus | plain | nexus / plain | target |",
        "| --- | ---: | ---: | ---: | --- |",
        *rows,
        "",
    ]


def _step_tables(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for size, st in results.get("step", {}).items():
        lines += [
            f"### 6. A step process's start at N = {size} (import the location, then job "
            f"`{st['job']}` and its run config schema; median of {st['reps']} fresh processes)",
            "",
            "| figure | nexus | nexus, no cache | plain | nexus / plain |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| wall (s) | {st['nexus']['step']:.2f} | {st['nexus_cold']['step']:.2f} "
            f"| {st['plain']['step']:.2f} | {ratio(st['nexus']['step'], st['plain']['step'])} |",
            f"| CPU (s) | {st['nexus']['step_cpu']:.2f} | {st['nexus_cold']['step_cpu']:.2f} "
            f"| {st['plain']['step_cpu']:.2f} "
            f"| {ratio(st['nexus']['step_cpu'], st['plain']['step_cpu'])} |",
            f"| peak RSS (MB) | {st['nexus']['rss_mb']:.0f} | {st['nexus_cold']['rss_mb']:.0f} "
            f"| {st['plain']['rss_mb']:.0f} | {ratio(st['nexus']['rss_mb'], st['plain']['rss_mb'])} |",
            f"| median of the paired ratios (wall) | | | | {st['paired_ratio']:.2f}x |",
            "",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The report: the targets, every figure as nexus / plain, and the growth table."""
    lines = [f"Machine: {results['machine']}", ""]
    lines += _targets_table(results)
    lines += _step_tables(results)
    if results["load"]:
        lines += _unpartitioned_tables(results)
    if "partitioned" in results:
        lines += _partitioned_table(results)
    return "\n".join(lines)


def _unpartitioned_tables(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    sizes = results["sizes"]
    judged = judged_size(sizes)
    load = results["load"][judged]
    n, p = load["nexus"], load["plain"]
    lines += [
        f"### 1. Code-location load at N = {judged} ({n['jobs']} jobs, {n['schedules']} "
        f"schedules, {results['assets']:,} assets; median of {results['reps']} fresh processes "
        "each)",
        "",
        "| phase | nexus (s) | plain (s) | nexus / plain |",
        "| --- | ---: | ---: | ---: |",
        f"| import + `Definitions` | {n['import']:.2f} | {p['import']:.2f} "
        f"| {ratio(n['import'], p['import'])} |",
        f"| resolve every job | {n['resolve']:.2f} | {p['resolve']:.2f} "
        f"| {ratio(n['resolve'], p['resolve'])} |",
        f"| **load** (import + resolve) | **{n['load']:.2f}** | **{p['load']:.2f}** "
        f"| **{ratio(n['load'], p['load'])}** |",
        f"| load, median of the paired ratios | | | {load['paired_ratio']:.2f}x |",
        f"| load, CPU time | {n['load_cpu']:.2f} | {p['load_cpu']:.2f} "
        f"| {ratio(n['load_cpu'], p['load_cpu'])} |",
    ]
    if n["snapshot"] == n["snapshot"]:  # not NaN: the snapshot was measured
        lines.append(
            f"| code-server snapshot of the repository | {n['snapshot']:.2f} "
            f"| {p['snapshot']:.2f} | {ratio(n['snapshot'], p['snapshot'])} |"
        )
    lines += [
        f"| whole process (interpreter, dagster, load, snapshot) | {n['process']:.2f} "
        f"| {p['process']:.2f} | {ratio(n['process'], p['process'])} |",
        "",
    ]
    run = results["run"]
    lines += [
        f"### 2. One run of a 20-asset job (`execute_in_process`, median of {run['reps']} "
        "alternating runs)",
        "",
        "| figure | nexus | plain | nexus / plain |",
        "| --- | ---: | ---: | ---: |",
        f"| run (s) | {median(run['nexus']):.3f} | {median(run['plain']):.3f} "
        f"| **{ratio(median(run['nexus']), median(run['plain']))}** |",
        f"| run, median of the paired ratios | | "
        f"| {median([a / b for a, b in zip(run['nexus'], run['plain'], strict=True)]):.2f}x |",
        f"| per asset: `for_asset` vs reading `op_config` (µs) | {run['nexus_for_asset_us']:.1f} "
        f"| {run['plain_for_asset_us']:.1f} | |",
        f"| per asset: `render` vs hand-written `str.format` (µs) | {run['nexus_render_us']:.1f} "
        f"| {run['plain_render_us']:.1f} | |",
        "",
    ]
    val = results["validate"]
    lines += [
        f"### 3. Validate {val['spec_count']} specs (median of {val['reps']} fresh processes)",
        "",
        "| phase | seconds |",
        "| --- | ---: |",
        f"| import dagster, nexus_dagster (not counted) | {val['dagster']:.2f} |",
    ]
    if val["cli"]:
        lines.append(
            f"| **`nexus-dagster validate -f nexus_location.py`** (imports the location, then "
            f"checks every spec) | **{val['validate']:.2f}** |"
        )
    lines += [
        f"| of which: `build_definitions` (every spec checked, every job built; the assets "
        f"imported once already) | {val['location']:.2f} |",
        f"| of which: Dagster's own load check (`Definitions.validate_loadable`: the repository "
        f"and every job resolved) | {val['dagster_check']:.2f} |",
        f"| the spec check alone, `load_job_specs(dir, assets)`, cache filled "
        f"| {val['specs']:.2f} |",
        f"| the spec check alone, no cache | {val['specs_cold']:.2f} |",
        "",
    ]
    lines += [
        f"### 4. Peak memory of the loaded location at N = {judged} (resident set, MB)",
        "",
        "| figure | nexus | plain | nexus / plain |",
        "| --- | ---: | ---: | ---: |",
        f"| peak RSS after load | {n['rss_mb']:.0f} | {p['rss_mb']:.0f} "
        f"| {ratio(n['rss_mb'], p['rss_mb'])} |",
        f"| of which beyond `import dagster` | {n['rss_over_dagster_mb']:.0f} "
        f"| {p['rss_over_dagster_mb']:.0f} "
        f"| {ratio(n['rss_over_dagster_mb'], p['rss_over_dagster_mb'])} |",
        "",
    ]
    lines += [
        "### How load grows with N",
        "",
        "| N specs | jobs | nexus load (s) | plain load (s) | nexus / plain | paired ratio "
        "| nexus ms per spec over N=first | plain ms per spec over N=first | nexus RSS (MB) "
        "| plain RSS (MB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    first = results["load"][sizes[0]]
    for size in sizes:
        row = results["load"][size]
        rn, rp = row["nexus"], row["plain"]
        extra = int(size) - int(sizes[0])
        per_n = f"{(rn['load'] - first['nexus']['load']) / extra * 1000:.1f}" if extra else "-"
        per_p = f"{(rp['load'] - first['plain']['load']) / extra * 1000:.1f}" if extra else "-"
        lines.append(
            f"| {size} | {rn['jobs']} | {rn['load']:.2f} | {rp['load']:.2f} "
            f"| {ratio(rn['load'], rp['load'])} | {row['paired_ratio']:.2f}x | {per_n} | {per_p} "
            f"| {rn['rss_mb']:.0f} | {rp['rss_mb']:.0f} |"
        )
    lines.append("")
    return lines


def _partitioned_table(results: dict[str, Any]) -> list[str]:
    """Table 5: the same location daily-partitioned, load and one partition run."""
    part = results["partitioned"]
    judged = part["size"]
    load = part["load"][judged]
    n, p = load["nexus"], load["plain"]
    run = part["run"]
    rn, rp = median(run["nexus"]), median(run["plain"])
    paired_run = median([a / b for a, b in zip(run["nexus"], run["plain"], strict=True)])
    lines = [
        f"### 5. Partitioned jobs: every asset daily-partitioned, N = {judged} ({n['jobs']} "
        f"jobs, {n['schedules']} schedules, {results['assets']:,} assets; loads: median of "
        f"{results['reps']} fresh processes each; run: median of {run['reps']} alternating runs "
        f"of partition {run['partition_key']})",
        "",
        "| figure | nexus | plain | nexus / plain |",
        "| --- | ---: | ---: | ---: |",
        f"| import + `Definitions` (s) | {n['import']:.2f} | {p['import']:.2f} "
        f"| {ratio(n['import'], p['import'])} |",
        f"| resolve every job (s) | {n['resolve']:.2f} | {p['resolve']:.2f} "
        f"| {ratio(n['resolve'], p['resolve'])} |",
        f"| **load** (import + resolve) (s) | **{n['load']:.2f}** | **{p['load']:.2f}** "
        f"| **{ratio(n['load'], p['load'])}** |",
        f"| load, median of the paired ratios | | | {load['paired_ratio']:.2f}x |",
        f"| load, CPU time (s) | {n['load_cpu']:.2f} | {p['load_cpu']:.2f} "
        f"| {ratio(n['load_cpu'], p['load_cpu'])} |",
    ]
    if n["snapshot"] == n["snapshot"]:  # not NaN: the snapshot was measured
        lines.append(
            f"| code-server snapshot of the repository (s) | {n['snapshot']:.2f} "
            f"| {p['snapshot']:.2f} | {ratio(n['snapshot'], p['snapshot'])} |"
        )
    lines += [
        f"| peak RSS after load (MB) | {n['rss_mb']:.0f} | {p['rss_mb']:.0f} "
        f"| {ratio(n['rss_mb'], p['rss_mb'])} |",
        f"| **run** of the 20-asset job for one partition (s) | **{rn:.3f}** | **{rp:.3f}** "
        f"| **{ratio(rn, rp)}** |",
        f"| run, median of the paired ratios | | | {paired_run:.2f}x |",
        f"| per asset: `for_asset` vs reading the plain resource's `values` (µs) "
        f"| {run['nexus_for_asset_us']:.1f} | {run['plain_for_asset_us']:.1f} | |",
        f"| per asset: `render` vs hand-written `str.format` (µs) | {run['nexus_render_us']:.1f} "
        f"| {run['plain_render_us']:.1f} | |",
        "",
    ]
    others = [size for size in results["sizes"] if size in part["load"]]
    if len(others) > 1:
        lines += [
            "| N specs | jobs | nexus load (s) | plain load (s) | nexus / plain | paired ratio |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size in others:
            row = part["load"][size]
            ln, lp = row["nexus"], row["plain"]
            lines.append(
                f"| {size} | {ln['jobs']} | {ln['load']:.2f} | {lp['load']:.2f} "
                f"| {ratio(ln['load'], lp['load'])} | {row['paired_ratio']:.2f}x |"
            )
        lines.append("")
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import dagster

        dagster_version = dagster.__version__
    except ImportError:
        dagster_version = "?"
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"dagster {dagster_version}, {platform.system()} {platform.release()}"
    )


def run_args(args: argparse.Namespace) -> list[str]:
    """The ``probe.py run`` arguments after the folder: runs of each twin, calls per asset, and
    with ``--smoke`` no untimed warm-up run."""
    return [str(args.run_reps), str(args.loops), *(["--no-warm-up"] if args.smoke else [])]


def measure_unpartitioned(
    args: argparse.Namespace, sizes: list[str], workdir: Path, results: dict[str, Any]
) -> None:
    """Tables 1-4 and the growth table: load at every N, one run, validate."""
    folders = {
        size: generate.write_location(workdir / f"n{size}", int(size), args.assets)
        for size in sorted({*sizes, str(args.validate_size)}, key=int)
    }
    if not args.smoke:
        # One untimed load of each twin first, so that neither pays for a cold disk cache.
        measure_load(folders[sizes[0]], 1, snapshot=False)
    for size in sizes:
        runs = measure_load(folders[size], args.reps, snapshot=not args.no_snapshot)
        results["raw_load"][size] = runs
        results["load"][size] = load_summary(runs)
        summary = results["load"][size]
        print(
            f"N={size}: load nexus {summary['nexus']['load']:.2f}s, "
            f"plain {summary['plain']['load']:.2f}s",
            file=sys.stderr,
        )

    run = probe("run", str(folders[sizes[0]]), *run_args(args))
    run["reps"] = args.run_reps
    results["run"] = run

    # A step process's start at the smallest and the largest N, and multiprocess runs at the
    # smallest: the location a run's every step imports again.
    step_sizes = sorted({sizes[0], sizes[-1]}, key=int)
    results["step"] = {}
    for size in step_sizes:
        job = json.loads((folders[size] / "run_config.json").read_text())["mp_job"]
        results["step"][size] = measure_step(folders[size], job, args.reps)
        print(f"N={size}: step start {results['step'][size]['paired_ratio']:.2f}x", file=sys.stderr)
    results["mprun"] = measure_mprun(folders[sizes[0]], args.mp_reps, args.smoke)
    results["mprun"]["size"] = sizes[0]

    val_runs = [
        probe("validate", str(folders[str(args.validate_size)])) for _ in range(min(args.reps, 3))
    ]
    results["validate"] = {
        key: median([v.get(key, float("nan")) for v in val_runs])
        for key in (
            "dagster",
            "validate",
            "assets",
            "specs",
            "specs_cold",
            "location",
            "dagster_check",
        )
    }
    results["validate"]["cli"] = val_runs[0]["cli"]
    results["validate"]["output"] = val_runs[0].get("output")
    results["validate"]["spec_count"] = val_runs[0]["spec_count"]
    results["validate"]["reps"] = len(val_runs)


def measure_partitioned(
    args: argparse.Namespace,
    sizes: list[str],
    workdir: Path,
    results: dict[str, Any],
    warm_up: bool,
) -> None:
    """Table 5: the same locations with every asset daily-partitioned; the load at the judged
    N (at every N with ``--only partitioned``) and runs of the 20-asset job for one partition."""
    judged = judged_size(sizes)
    measured = sizes if args.only == "partitioned" else [judged]
    folders = {
        size: generate.write_location(
            workdir / f"p{size}", int(size), args.assets, partitioned=True
        )
        for size in measured
    }
    part: dict[str, Any] = {"size": judged, "load": {}, "raw_load": {}}
    results["partitioned"] = part
    if warm_up and not args.smoke:
        measure_load(folders[measured[0]], 1, snapshot=False)
    for size in measured:
        runs = measure_load(folders[size], args.reps, snapshot=not args.no_snapshot)
        part["raw_load"][size] = runs
        part["load"][size] = load_summary(runs)
        summary = part["load"][size]
        print(
            f"N={size} partitioned: load nexus {summary['nexus']['load']:.2f}s, "
            f"plain {summary['plain']['load']:.2f}s",
            file=sys.stderr,
        )
    run = probe("run", str(folders[judged]), *run_args(args))
    run["reps"] = args.run_reps
    part["run"] = run
    job = json.loads((folders[judged] / "run_config.json").read_text())["mp_job"]
    part["step"] = measure_step(folders[judged], job, args.reps)
    part["mprun"] = measure_mprun(folders[judged], args.mp_reps, args.smoke)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,500,1000", help="N specs, comma-separated")
    parser.add_argument("--reps", type=int, default=5, help="loads of each twin per N")
    parser.add_argument("--run-reps", type=int, default=15, help="runs of each twin")
    parser.add_argument("--mp-reps", type=int, default=3, help="multiprocess runs of each twin")
    parser.add_argument("--validate-size", type=int, default=1000)
    parser.add_argument("--assets", type=int, default=generate.ASSET_COUNT, help="assets")
    parser.add_argument("--loops", type=int, default=200, help="calls per asset, per-asset cost")
    parser.add_argument("--no-snapshot", action="store_true", help="skip the snapshot figure")
    parser.add_argument(
        "--smoke", action="store_true", help="5 specs, 100 assets, one repetition, forked probes"
    )
    parser.add_argument("--workdir", type=Path, help="where to write the locations (kept)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--only",
        choices=["partitioned"],
        help="measure only these figures: `partitioned` (table 5, the load at every N of --sizes)",
    )
    global WARM
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.reps, args.run_reps, args.validate_size = "5", 1, 1, 5
        args.mp_reps = 1
        args.loops, args.assets, args.no_snapshot = 5, 100, True
        # Imported once, here, not by each probe: the probes are forked from this process.
        import dagster  # noqa: F401
        import dagster._core.storage.sqlite_storage  # noqa: F401  (the multiprocess runs' instance)
        import probe as warm

        WARM = warm

    sizes = [s.strip() for s in args.sizes.split(",")]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nexus-bench-"))
    CACHE_ENV["NEXUS_DAGSTER_CACHE_DIR"] = str(workdir / "spec-cache")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine(),
        "sizes": sizes,
        "reps": args.reps,
        "assets": args.assets,
        "load": {},
        "raw_load": {},
    }
    only_partitioned = args.only == "partitioned"
    try:
        if not only_partitioned:
            measure_unpartitioned(args, sizes, workdir, results)
        measure_partitioned(args, sizes, workdir, results, warm_up=only_partitioned)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    print(markdown(results))
    print(f"(benchmark took {results['seconds']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The cache of checked specs (``spec_cache``): it may make a load faster, never change what a
load gives or reports. Every test loads the same folder with and without the cache and compares
the two results, or the two error reports."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import nexus_dagster.spec as spec_module
from nexus_dagster import (
    NexusParams,
    NexusSpecError,
    build_definitions,
    load_job_specs,
    nexus_asset,
)
from nexus_dagster.spec import JobSpec
from nexus_dagster.spec_cache import SpecCache

from .conftest import REPO, example_location, write_specs

SALES = """
selection: [ingest, publish]
parameter_values:
  target_bucket: lake
ops_config:
  ingest: {source_bucket: raw-sales, batch_size: 50}
schedules:
  - cron: "0 6 * * *"
    parameter_values: {target_bucket: lake-nightly}
sensors:
  - type: file
    directory: drops
    parameter_values: {ingest.source_bucket: "{{sensor.stem}}"}
"""


def with_schedule_run_config(section: str) -> str:
    """``SALES`` with one of Dagster's own run config sections on its schedule."""
    values = "    parameter_values: {target_bucket: lake-nightly}\n"
    return SALES.replace(values, f"{values}    run_config:\n      {section}\n")


def make_assets(ingest_params: dict[str, str] | None = None) -> list[dg.AssetsDefinition]:
    @nexus_asset(
        name="ingest",
        params=ingest_params or {"source_bucket": "string!", "batch_size": "int"},
        group_name="g",
    )
    def ingest(context, params: NexusParams) -> None:  # type: ignore[no-untyped-def]
        params.for_asset(context)

    @nexus_asset(name="publish", params={"target_bucket": "string!"}, deps=["ingest"])
    def publish(context, params: NexusParams) -> None:  # type: ignore[no-untyped-def]
        params.for_asset(context)

    return [ingest, publish]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files a load read and checked itself (the others came from the cache)."""
    seen: list[Path] = []
    real = spec_module._parse_file

    def parse(path: Path, data: bytes, problems: list[Any]) -> JobSpec | None:
        seen.append(path)
        return real(path, data, problems)

    monkeypatch.setattr(spec_module, "_parse_file", parse)
    return seen


def document(spec: JobSpec) -> tuple[Any, ...]:
    """A spec's document as messages read it: its value and where every key stands (a cached
    document unpacks its positions when first asked for one)."""
    spec.document.position(("selection",))
    return spec.document.value, spec.document.positions, spec.document.duplicates


def summary(specs: Sequence[JobSpec]) -> list[Any]:
    """Everything a load gives that the jobs, schedules and sensors are built from."""
    return [
        (
            s.path,
            s.name,
            s.model,
            document(s),
            s.selected,
            s.fields,
            s.partitions_def,
            s.schedules,
            s.sensors,
            s.problems,
        )
        for s in specs
    ]


def uncached(folder: Path, assets: Sequence[Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The load's result, or its error report, with the cache turned off."""
    with monkeypatch.context() as patch:
        patch.setenv("NEXUS_DAGSTER_CACHE", "off")
        return outcome(folder, assets)


def outcome(folder: Path, assets: Sequence[Any]) -> Any:
    try:
        return summary(load_job_specs(folder, assets))
    except NexusSpecError as err:
        return str(err)


def cache_file(cache_dir: Path) -> Path:
    (path,) = cache_dir.glob("specs-*.json")
    return path


@pytest.mark.parametrize(
    ("specs_dir", "assets"),
    [
        (
            REPO / "job_specs",
            lambda: [*example_location().defs.assets, *example_location().defs.asset_checks],
        ),
        (
            REPO / "tests" / "locations" / "partitioned_specs",
            lambda: __import__("tests.locations.partitioned_location", fromlist=["ASSETS"]).ASSETS,
        ),
    ],
    ids=["example", "partitioned"],
)
def test_a_load_from_the_cache_gives_what_checking_gives(
    specs_dir: Path,
    assets: Any,
    cache_dir: Path,
    parsed: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if specs_dir.name == "partitioned_specs":
        monkeypatch.setenv("NEXUS_PART_TOKEN", "t")
    assets = list(assets())  # importing the location filled the cache: start from none
    shutil.rmtree(cache_dir, ignore_errors=True)
    expected = uncached(specs_dir, assets, monkeypatch)
    parsed.clear()
    first = outcome(specs_dir, assets)
    files = list(parsed)
    assert files, "the first load checks every file"
    parsed.clear()
    second = outcome(specs_dir, assets)
    assert parsed == [], "the second load takes every spec from the cache"
    assert first == second == expected


def test_a_file_changed_by_one_byte_is_checked_again(
    tmp_path: Path, cache_dir: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": SALES})
    assets = make_assets()
    load_job_specs(folder, assets)
    path = folder / "sales_job.yaml"
    # One byte: `lake` becomes `lakf`, then `50` becomes `5x` (no longer an int).
    path.write_bytes(path.read_bytes().replace(b"target_bucket: lake\n", b"target_bucket: lakf\n"))
    parsed.clear()
    (spec,) = load_job_specs(folder, assets)
    assert parsed == [path]
    assert {f.name: f.default for f in spec.fields}["target_bucket"] == "lakf"
    assert summary([spec]) == uncached(folder, assets, monkeypatch)

    path.write_bytes(path.read_bytes().replace(b"batch_size: 50", b"batch_size: 5x"))
    report = outcome(folder, assets)
    assert (
        isinstance(report, str)
        and f"{path}:5:38: ops_config.ingest.batch_size" in report
        and "batch_size" in report
    )
    assert report == uncached(folder, assets, monkeypatch)
    # Put back as it was: the entry of the first bytes is gone (the file was rewritten),
    # so it is checked again, and the result is the first one.
    path.write_bytes(path.read_bytes().replace(b"5x", b"50").replace(b"lakf", b"lake"))
    assert outcome(folder, assets) == uncached(folder, assets, monkeypatch)


def test_a_changed_declaration_is_seen_with_the_same_spec_bytes(
    tmp_path: Path, cache_dir: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": SALES})
    load_job_specs(folder, make_assets())
    # `batch_size` becomes a string: the spec's value 50 is now the wrong type.
    changed = make_assets({"source_bucket": "string!", "batch_size": "string"})
    parsed.clear()
    report = outcome(folder, changed)
    assert parsed == [folder / "sales_job.yaml"]
    assert isinstance(report, str) and "batch_size" in report
    assert report == uncached(folder, changed, monkeypatch)
    # A new parameter: a new field, with the same file.
    wider = make_assets({"source_bucket": "string!", "batch_size": "int", "region": "string"})
    (spec,) = load_job_specs(folder, wider)
    assert "ingest.region" in {f.name for f in spec.fields}
    assert summary([spec]) == uncached(folder, wider, monkeypatch)


def test_a_selection_string_is_resolved_again_on_every_load(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "selection: 'group:g'\nparameter_values: {source_bucket: raw}\n"
    folder = write_specs(tmp_path / "specs", {"group_job.yaml": text})
    assets = make_assets()
    (spec,) = load_job_specs(folder, assets)
    assert spec.selected == ("ingest",)

    @nexus_asset(name="extra", params={"owner": "string"}, group_name="g")
    def extra(context, params: NexusParams) -> None:  # type: ignore[no-untyped-def]
        params.for_asset(context)

    (spec,) = load_job_specs(folder, [*assets, extra])
    assert spec.selected == ("ingest", "extra")
    assert summary([spec]) == uncached(folder, [*assets, extra], monkeypatch)


def parts(data: bytes) -> tuple[bytes, bytes, bytes]:
    """A cache file's header line, entries and digest line."""
    header, _, rest = data.partition(b"\n")
    body, _, trailer = rest.rpartition(b"\n")
    return header, body, trailer


def whole_entries(path: Path) -> dict[str, Any]:
    """The entries of a cache file, asserting that the file is whole (its digest fits)."""
    header, body, trailer = parts(path.read_bytes())
    assert json.loads(trailer)["sha256"] == hashlib.sha256(body).hexdigest()
    return {key: json.loads(text) for key, text in json.loads(body).items()}


def corrupt_variants(good: bytes) -> Iterator[tuple[str, bytes]]:
    header, body, trailer = parts(good)
    yield "empty", b""
    yield "truncated", good[: len(good) // 2]
    yield "the digest line lost", header + b"\n" + body
    yield "not json", b"\x00\xff garbage \n more"
    yield (
        "a byte flipped in the body",
        header + b"\n" + body.replace(b"lake", b"lakx", 1) + (b"\n" + trailer),
    )

    def with_entries(entries: dict[str, Any]) -> bytes:
        # Edited by hand and given a right digest, so that only the entries can refuse it.
        text = json.dumps(entries).encode()
        check = json.dumps({"sha256": hashlib.sha256(text).hexdigest()}).encode()
        return header + b"\n" + text + b"\n" + check

    entries = {key: json.loads(text) for key, text in json.loads(body).items()}
    for entry in entries.values():
        entry["fields"] = [["target_bucket", "target_bucket", "int", True, "shared", [], "", None]]
        entry["selected"] = entry["selected"][:1]
    yield "selected and fields edited", with_entries({k: json.dumps(e) for k, e in entries.items()})
    yield "an entry that is not JSON", with_entries({k: "{not json" for k in entries})
    yield "an entry that is not text", with_entries({k: [1, 2] for k in entries})
    for entry in entries.values():
        entry["value"] = ["not", "a", "mapping"]
    yield "values of the wrong shape", with_entries({k: json.dumps(e) for k, e in entries.items()})
    for entry in entries.values():
        del entry["fields"]
    yield "a part missing", with_entries({k: json.dumps(e) for k, e in entries.items()})
    yield "another format", json.dumps({"format": 0}).encode() + b"\n" + body + b"\n" + trailer


def test_a_corrupt_cache_file_is_read_as_empty(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": SALES})
    assets = make_assets()
    expected = uncached(folder, assets, monkeypatch)
    assert outcome(folder, assets) == expected
    good = cache_file(cache_dir).read_bytes()
    for what, data in corrupt_variants(good):
        cache_file(cache_dir).write_bytes(data)
        assert outcome(folder, assets) == expected, what
        # ... and leaves a whole file again, with every entry.
        assert len(whole_entries(cache_file(cache_dir))) == 1, what


def test_a_read_only_specs_folder_and_an_unwritable_cache_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": SALES})
    assets = make_assets()
    expected = uncached(folder, assets, monkeypatch)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    # Like a Kubernetes ConfigMap: the folder cannot be written (as root, chmod alone does not
    # stop writes, so the cache folder is also placed where no folder can be made).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE_DIR", str(blocker / "cache"))
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert outcome(folder, assets) == expected
        assert outcome(folder, assets) == expected
    finally:
        folder.chmod(stat.S_IRWXU)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    # A cache folder that exists but refuses writes (where chmod is obeyed) is left alone too.
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE_DIR", str(locked))
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert outcome(folder, assets) == expected
    finally:
        locked.chmod(stat.S_IRWXU)


def _load_in_child(folder: str, rounds: int, out: Any) -> None:
    assets = make_assets()
    results = []
    for _ in range(rounds):
        specs = load_job_specs(folder, assets)
        results.append(repr([(s.name, s.fields, s.schedules, s.sensors) for s in specs]))
    out.put(results)


def test_two_processes_filling_the_cache_at_once(
    tmp_path: Path, cache_dir: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"sub{i}/job_{i}.yaml": SALES for i in range(40)}
    folder = write_specs(tmp_path / "specs", files)
    assets = make_assets()
    expected = repr(
        [(s.name, s.fields, s.schedules, s.sensors) for s in load_job_specs(folder, assets)]
    )
    for _round in range(3):
        shutil.rmtree(cache_dir, ignore_errors=True)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        children = [
            context.Process(target=_load_in_child, args=(str(folder), 5, queue)) for _ in range(2)
        ]
        for child in children:
            child.start()
        got = [queue.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=120)
            assert child.exitcode == 0
        assert all(result == expected for results in got for result in results)
        # The file left behind is whole and fits every spec: a third load reads from it only.
        cache = SpecCache.open(folder)
        assert cache.path is not None
        entries = whole_entries(cache.path)
        assert len(entries) == len(files)
        assert all(entry["selected"] == ["ingest", "publish"] for entry in entries.values())
        parsed.clear()
        assert (
            repr(
                [(s.name, s.fields, s.schedules, s.sensors) for s in load_job_specs(folder, assets)]
            )
            == expected
        )
        assert parsed == []
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_value_json_would_change_is_not_stored(
    tmp_path: Path, cache_dir: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An integer key: JSON would give it back as the text "7".
    text = with_schedule_run_config("ops: {ingest: {config: {7: seven}}}")
    folder = write_specs(tmp_path / "specs", {"keyed_job.yaml": text})
    assets = make_assets()
    expected = uncached(folder, assets, monkeypatch)
    assert expected[0][7][0].sections == {"ops": {"ingest": {"config": {7: "seven"}}}}
    assert outcome(folder, assets) == expected
    parsed.clear()
    assert outcome(folder, assets) == expected
    assert parsed == [folder / "keyed_job.yaml"]


def test_the_cache_can_be_turned_off(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": SALES})
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE", "off")
    load_job_specs(folder, make_assets())
    assert not cache_dir.exists()
    monkeypatch.delenv("NEXUS_DAGSTER_CACHE")
    load_job_specs(folder, make_assets())
    assert cache_file(cache_dir).exists()
    assert os.access(cache_file(cache_dir), os.R_OK)


def test_a_problem_found_across_files_points_into_a_cached_spec(
    tmp_path: Path, cache_dir: Path, parsed: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `b.yaml` is checked and cached alone; then `a.yaml` takes its job and schedule names. The
    # names are reported in `b.yaml` (the later file), which comes from the cache: its message
    # must point at the same line and column as a load without the cache.
    named = "name: shared_name\n" + SALES.replace(
        '  - cron: "0 6 * * *"', '  - name: nightly\n    cron: "0 6 * * *"'
    )
    folder = write_specs(tmp_path / "specs", {"b.yaml": named})
    assets = make_assets()
    load_job_specs(folder, assets)
    write_specs(folder, {"a.yaml": named})
    parsed.clear()
    report = outcome(folder, assets)
    assert parsed == [folder / "a.yaml"]
    assert isinstance(report, str)
    assert f"{folder / 'b.yaml'}:1:1: name: job name `shared_name` is already used" in report
    assert f"{folder / 'b.yaml'}:9:5: schedules[0]: name `nightly` is already used" in report
    assert report == uncached(folder, assets, monkeypatch)


def test_dagsters_own_check_of_a_cached_spec_points_where_it_did(
    tmp_path: Path, cache_dir: Path, parsed: list[Path]
) -> None:
    # The spec passes its own checks (and is cached); Dagster refuses its schedule's `execution`
    # section when the location is built, at the position the spec file gives.
    text = with_schedule_run_config("execution: {config: {multiprocess: {max_concurrent: lots}}}")
    folder = write_specs(tmp_path / "specs", {"sales_job.yaml": text})
    reports = []
    for _ in range(2):
        parsed.clear()
        with pytest.raises(NexusSpecError) as err:
            build_definitions(folder, assets=make_assets())
        reports.append((str(err.value), list(parsed)))
    (first, checked), (second, from_cache) = reports
    assert checked == [folder / "sales_job.yaml"] and from_cache == []
    assert f"{folder / 'sales_job.yaml'}:9:5: schedules[0].run_config" in first
    assert "Dagster refuses this run config" in first
    assert second == first

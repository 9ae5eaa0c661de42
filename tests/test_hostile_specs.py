"""Hostile spec files (the corpus in `tests/hostile/`): each is refused with a clear message, in
bounded time and memory, nothing in it is executed, and the other specs of the folder still load.

The limits are those of `nexus_dagster.yaml_source`: `MAX_FILE_BYTES`, `MAX_DEPTH`, `MAX_NODES`.
"""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusSpecError, nexus_asset
from nexus_dagster.spec import load_job_specs
from nexus_dagster.yaml_source import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    YamlSyntaxError,
    load_yaml,
)

CORPUS = Path(__file__).parent / "hostile"
MEMORY_BOUND = 64 * 2**20  # generous: the bombs peak near 5 MB, a file at MAX_NODES near 12


@nexus_asset(params={"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"})
def orders() -> None: ...


@dg.asset
def report() -> None: ...


@dg.asset(name="a__b", metadata={"nexus/params": {"c": "int"}})
def asset_a__b() -> None: ...


@dg.asset(name="a", metadata={"nexus/params": {"b__c": "int"}})
def asset_a() -> None: ...


ASSETS = [orders, report, asset_a__b, asset_a]
GOOD = "selection: [orders, report]\nops_config:\n  orders: {source_bucket: i, target_bucket: o}\n"

# file in tests/hostile/ -> a fragment of the message it must get
HOSTILE = {
    # size and shape: the limits
    "alias_bomb.yaml": f"more than {MAX_NODES} values (counting aliases); refused",
    "merge_alias_bomb.yaml": f"more than {MAX_NODES} values (counting aliases); refused",
    "many_values.yaml": f"more than {MAX_NODES} values (counting aliases); refused",
    "deep_flow.yaml": f"nested deeper than {MAX_DEPTH} levels; refused",
    "deep_block.yaml": f"nested deeper than {MAX_DEPTH} levels; refused",
    "deep_alias.yaml": f"nested deeper than {MAX_DEPTH} levels; refused",
    "recursive_alias.yaml": f"nested deeper than {MAX_DEPTH} levels; refused",
    "merge_self.yaml": "a mapping merges itself through `<<`; refused",
    "huge_integer.yaml": "integer out of the 64-bit range; put it in quotes if it is text",
    # encodings and characters
    "not_utf8.yaml": "3:17: not valid UTF-8 text; save it as UTF-8",
    "utf16.yaml": "not valid UTF-8 text; save it as UTF-8",
    "control_char.yaml": "2:18: character U+0007 is not allowed in YAML; remove it",
    "nul_byte.yaml": "2:15: character U+0000 is not allowed in YAML; remove it",
    "tabs.yaml": "2:1: tab character used for indentation; use spaces",
    # tags: never constructed, never executed
    "python_object_apply.yaml": "unsupported tag `tag:yaml.org,2002:python/object/apply:os.system`",
    "python_exec.yaml": "unsupported tag `tag:yaml.org,2002:python/object/apply:builtins.exec`",
    "python_name.yaml": "unsupported tag `tag:yaml.org,2002:python/name:os.system`",
    "python_module.yaml": "unsupported tag `tag:yaml.org,2002:python/module:os`",
    "custom_tag.yaml": "unsupported tag `!env`",
    "binary_tag.yaml": "unsupported tag `tag:yaml.org,2002:binary`",
    "set_tag.yaml": "unsupported tag `tag:yaml.org,2002:set`",
    # structure
    "duplicate_keys.yaml": "3:1: description: duplicate key; keep only one",
    "duplicate_value_key.yaml": "5:3: parameter_values.bucket: duplicate key; keep only one",
    "multi_document.yaml": "2:1: invalid YAML: but found another document",
    "undefined_alias.yaml": "invalid YAML: found undefined alias 'nowhere'",
    "complex_key.yaml": "3:5: a key must be a plain scalar",
    "boolean_keys.yaml": "True: this key is read by YAML as a boolean, not as a name",
    "top_level_list.yaml": "a job spec must be a mapping with at least `selection:`, got a list",
    "top_level_text.yaml": "a job spec must be a mapping with at least `selection:`, got text",
    "empty.yaml": "a job spec must be a mapping with at least `selection:`, got an empty file",
    # names: odd characters, look-alikes, invisible characters, escapes
    "terminal_escape_key.yaml": "unknown key `\\x1b[2J\\x1b[31mdescription`; did you mean "
    "`description`?",
    "bidi_asset_name.yaml": "unknown asset `report\\u202e`; did you mean `report`? "
    "`report\\u202e` holds the non-ASCII character U+202E (RIGHT-TO-LEFT OVERRIDE).",
    "zero_width_param.yaml": "invalid parameter name `source\\u200b_bucket`",
    "lookalike_key.yaml": "unknown key `s\u0435lection`; did you mean `selection`? "
    "`s\u0435lection` holds the non-ASCII character U+0435 (CYRILLIC SMALL LETTER IE).",
    "lookalike_asset.yaml": "holds the non-ASCII character U+043E (CYRILLIC SMALL LETTER O)",
    "fullwidth_asset.yaml": "U+FF4F (FULLWIDTH LATIN SMALL LETTER O)",
    "odd_param_names.yaml": "invalid parameter name ``rm -rf /``",
    "path_traversal_name.yaml": "`../../etc/passwd` is not a valid job name",
    "nexus_ops_collision.yaml": "`a.b__c` and `a__b.c` both map to the resource key "
    "`__nexus_ops__a__b__c`",
}

# Made by the test rather than stored: a file over the size limit, and links.
MADE = {
    "too_large.yaml": f"file is larger than the limit of {MAX_FILE_BYTES} bytes",
    "link_outside.yaml": "refused: a link that leads outside the specs folder",
    "link_loop.yaml": "refused: a link that cannot be followed",
}
EXPECTED = {**HOSTILE, **MADE}

# The files that test the limits; their peak memory is measured.
MEASURED = ["alias_bomb.yaml", "merge_alias_bomb.yaml", "too_large.yaml"]


def test_corpus_is_complete() -> None:
    stored = {p.name for p in CORPUS.iterdir()}
    assert stored == set(HOSTILE)
    assert len(EXPECTED) >= 25


def place(name: str, folder: Path) -> None:
    """Put hostile file `name` into `folder`, beside a good spec."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good_job.yaml").write_text(GOOD)
    target = folder / name
    if name in HOSTILE:
        shutil.copyfile(CORPUS / name, target)
    elif name == "too_large.yaml":
        with target.open("w") as handle:
            handle.write("selection: [report]\n")
            handle.write(("# padding " + "x" * 90 + "\n") * (MAX_FILE_BYTES // 100 + 1))
    elif name == "link_outside.yaml":
        outside = folder.parent / "outside.yaml"
        outside.write_text("selection: [report]\n")
        target.symlink_to(os.path.relpath(outside, folder))
    elif name == "link_loop.yaml":
        target.symlink_to(target.name)


def refused(folder: Path) -> NexusSpecError:
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    return caught.value


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_spec_refused_clearly_others_still_load(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "specs"
    place(name, folder)
    # A `!!python` payload that ran would write `pwned` in the current folder.
    monkeypatch.chdir(tmp_path)
    err = refused(folder)
    assert {Path(p.path).name for p in err.problems} == {name}, str(err)
    assert any(EXPECTED[name] in str(p) for p in err.problems), str(err)
    text = str(err)
    assert all(ch.isprintable() or ch == "\n" for ch in text), "raw control characters echoed"
    assert len(text) < 2_000
    assert not (tmp_path / "pwned").exists()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", MEASURED)
def test_limits_bound_peak_memory(name: str, tmp_path: Path) -> None:
    place(name, tmp_path)
    tracemalloc.start()
    try:
        refused(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND


@pytest.mark.timeout(20)
def test_whole_corpus_at_once_every_file_reported_good_specs_load(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    for name in EXPECTED:
        place(name, folder)
    (folder / "ordinary_mistake.yaml").write_text("selection: [ordrs]\n")
    err = refused(folder)
    by_file: dict[str, list[str]] = {}
    for problem in err.problems:
        by_file.setdefault(Path(problem.path).name, []).append(str(problem))
    assert "good_job.yaml" not in by_file
    assert set(by_file) == {*EXPECTED, "ordinary_mistake.yaml"}
    assert "did you mean `orders`?" in by_file["ordinary_mistake.yaml"][0]
    # with the hostile files gone, the good spec loads
    for path in folder.iterdir():
        if path.name != "good_job.yaml":
            path.unlink()
    (spec,) = load_job_specs(folder, assets=ASSETS)
    assert spec.name == "good_job"


# ---- the limits, at their edges -----------------------------------------------------------------


def nodes_text(extra: int) -> str:
    """A document of exactly `MAX_NODES + extra` values, most of them reached through an alias
    (so that the test stays fast: an alias costs the parser one event, however large)."""
    used = 4  # the root mapping and the lists `a`, `b` and `c`
    uses = (MAX_NODES - used - 99) // 100
    rest = MAX_NODES - used - 99 - 100 * uses + extra
    return (
        "a: &a [" + ",".join(["0"] * 99) + "]\n"
        "b: [" + ",".join(["*a"] * uses) + "]\n"
        "c: [" + ",".join(["0"] * rest) + "]\n"
    )


def test_max_nodes_is_the_limit_counting_each_use_of_an_alias() -> None:
    assert len(load_yaml(nodes_text(0)).value["b"]) == (MAX_NODES - 103) // 100
    with pytest.raises(YamlSyntaxError, match=f"more than {MAX_NODES} values"):
        load_yaml(nodes_text(1))


def test_max_depth_is_the_limit() -> None:
    assert load_yaml("[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH).value is not None
    with pytest.raises(YamlSyntaxError, match=f"nested deeper than {MAX_DEPTH} levels") as caught:
        load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert (caught.value.line, caught.value.col) == (1, MAX_DEPTH + 1)


def test_max_depth_counts_block_mappings_from_the_top_level() -> None:
    nested = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 1))
    assert load_yaml(nested + "  " * (MAX_DEPTH - 1) + "leaf: 1\n").value is not None
    with pytest.raises(YamlSyntaxError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_yaml(nested + "  " * (MAX_DEPTH - 1) + "k:\n" + "  " * MAX_DEPTH + "leaf: 1\n")


def test_max_depth_counts_depth_reached_through_aliases() -> None:
    half = MAX_DEPTH // 2 + 1
    text = "a: &a " + "[" * half + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
    with pytest.raises(YamlSyntaxError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_yaml(text)


@pytest.mark.timeout(20)
def test_max_file_bytes_is_the_limit(tmp_path: Path) -> None:
    head = "selection: [report]\n"
    padding = MAX_FILE_BYTES - len(head)
    (tmp_path / "at_limit.yaml").write_text(head + "#" * (padding - 1) + "\n")
    assert (tmp_path / "at_limit.yaml").stat().st_size == MAX_FILE_BYTES
    assert load_job_specs(tmp_path, assets=ASSETS)[0].name == "at_limit"
    with (tmp_path / "at_limit.yaml").open("a") as handle:
        handle.write("\n")
    assert "larger than the limit" in str(refused(tmp_path))


def test_text_over_the_limit_refused_by_load_yaml_itself() -> None:
    with pytest.raises(YamlSyntaxError, match=f"larger than the limit of {MAX_FILE_BYTES} bytes"):
        load_yaml("#" * (MAX_FILE_BYTES + 1))


# ---- what stays allowed -----------------------------------------------------------------------


def test_anchors_and_merge_keys_still_work_and_own_keys_win() -> None:
    doc = load_yaml(
        "base: &base {source_bucket: raw, batch_size: 10}\n"
        "other: &other {batch_size: 20, target_bucket: lake}\n"
        "child:\n"
        "  <<: [*base, *other]\n"
        "  batch_size: 30\n"
        "copy: *base\n"
    )
    assert doc.value["child"] == {"batch_size": 30, "source_bucket": "raw", "target_bucket": "lake"}
    assert doc.value["copy"] == {"source_bucket": "raw", "batch_size": 10}
    # a key overriding a merged one is not a duplicate; a merged key points at the `<<`
    assert doc.duplicates == []
    assert doc.positions[("child", "batch_size")] == (5, 3)
    assert doc.positions[("child", "source_bucket")] == (4, 3)


def test_merge_in_a_spec_with_a_shared_block_of_values(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text(
        "selection: [orders]\n"
        "ops_config:\n"
        "  orders:\n"
        "    <<: &defaults {source_bucket: raw, target_bucket: lake}\n"
        "    batch_size: 5\n"
        "schedules:\n"
        "  - cron: '0 6 * * *'\n"
        "    parameter_values:\n"
        "      orders.target_bucket: night\n"
    )
    (spec,) = load_job_specs(tmp_path, assets=ASSETS)
    defaults = {f.name: f.default for f in spec.fields}
    assert defaults == {
        "orders.source_bucket": "raw",
        "orders.target_bucket": "lake",
        "orders.batch_size": 5,
    }
    assert spec.schedules[0].run_config["orders.target_bucket"] == "night"


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffselection: [report]\n",  # a byte order mark
        "selection: [report]\r\ndescription: windows line ends\r\n",
        'selection: [report]\ndescription: "caf\u00e9 \u2014 \u65e5\u672c"\n',  # text may be any language
        "selection: [report]\ndescription: 2024-01-01\n",  # a date stays text
    ],
)
def test_ordinary_files_are_not_refused(text: str, tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_bytes(text.encode("utf-8"))
    (spec,) = load_job_specs(tmp_path, assets=ASSETS)
    assert spec.model.selection == ["report"]

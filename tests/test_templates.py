"""`{{params.NAME}}` placeholders in `nexus/config` (docs/parameters.md): typed when a placeholder
is the whole string, text when inline, one pass, nothing evaluated."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nexus_dagster.templates import NoPartitionError, as_text, placeholders, render, render_sensor

VALUES = {"bucket": "lake", "n": 3, "ratio": 0.5, "flag": True, "off": False, "tags": ["a", "b"]}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{params.n}}", 3),
        ("{{ params.n }}", 3),
        ("{{params.n  }}", 3),
        ("{{params.ratio}}", 0.5),
        ("{{params.flag}}", True),
        ("{{params.tags}}", ["a", "b"]),
        ("{{params.bucket}}", "lake"),
        ("{{params.absent}}", None),
    ],
)
def test_whole_string_placeholder_yields_typed_value(template: str, expected: Any) -> None:
    assert render(template, VALUES) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("s3://{{params.bucket}}/in", "s3://lake/in"),
        ("batch-{{ params.n }}", "batch-3"),
        ("{{params.n}}{{params.n}}", "33"),
        ("{{params.bucket}}/{{params.n}}", "lake/3"),
        ("ratio={{params.ratio}}", "ratio=0.5"),
        ("flag={{params.flag}},{{params.off}}", "flag=true,false"),
        ("[{{params.absent}}]", "[]"),
        # surrounding spaces make it text, not a whole-string placeholder
        (" {{params.n}}", " 3"),
        ("{{params.n}}\n", "3\n"),
    ],
)
def test_inline_placeholder_inserted_as_text(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected


@pytest.mark.parametrize(
    ("value", "text"), [(True, "true"), (False, "false"), (None, ""), (2.5, "2.5"), (7, "7")]
)
def test_as_text_uses_yaml_spelling_for_scalars(value: Any, text: str) -> None:
    assert as_text(value) == text


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{params.a}}", "{{params.b}}"),
        ("x-{{params.a}}", "x-{{params.b}}"),
        ("{{ params.a }}-{{params.b}}", "{{params.b}}-second"),
        (["{{params.a}}", {"k": "{{params.a}}"}], ["{{params.b}}", {"k": "{{params.b}}"}]),
    ],
)
def test_value_holding_placeholder_is_never_rendered_again(template: Any, expected: Any) -> None:
    assert render(template, {"a": "{{params.b}}", "b": "second"}) == expected


def test_value_holding_its_own_placeholder_does_not_loop() -> None:
    assert render("x{{params.a}}", {"a": "{{params.a}}"}) == "x{{params.a}}"
    assert render("{{params.a}}", {"a": "{{params.a}}"}) == "{{params.a}}"


def test_typed_value_with_placeholders_inside_is_returned_untouched() -> None:
    nested = {"k": ["{{params.b}}", {"deep": "{{params.b}}"}]}
    assert render("{{params.a}}", {"a": nested, "b": "no"}) == nested


@pytest.mark.parametrize(
    "template",
    [
        "{{ params.n + 1 }}",
        "{{ 7 * 7 }}",
        "{{ params.n | upper }}",
        "{{ params['n'] }}",
        "{{ params.n.real }}",
        "{{ params.bucket() }}",
        "{% for x in params %}{{ x }}{% endfor %}",
        "${HOME} $(id) `id`",
        "{{params}}",
        "{{ self.__init__.__globals__ }}",
        "{params.n}",
        "{{{params.x}}",
    ],
)
def test_nothing_is_evaluated(template: str) -> None:
    # Anything but a bare `params.NAME` stays as it is: no expressions, filters or calls.
    rendered = render(template, {**VALUES, "x": "X"})
    if template == "{{{params.x}}":
        assert rendered == "{X"
    else:
        assert rendered == template


def test_dunder_names_are_looked_up_not_evaluated() -> None:
    assert render("{{params.__class__}}", {}) is None
    assert render("x{{params.__class__}}", {}) == "x"


def test_render_walks_mappings_and_lists_and_keeps_other_leaves() -> None:
    template = {
        "uri": "s3://{{params.bucket}}/x",
        "n": "{{params.n}}",
        "list": ["{{params.flag}}", 1, None, 2.5, {"inner": "{{params.bucket}}"}],
        "{{params.bucket}}": "keys are not templates",
        "number": 10,
    }
    assert render(template, VALUES) == {
        "uri": "s3://lake/x",
        "n": 3,
        "list": [True, 1, None, 2.5, {"inner": "lake"}],
        "{{params.bucket}}": "keys are not templates",
        "number": 10,
    }


def test_render_does_not_change_its_input() -> None:
    template = {"a": ["{{params.n}}"], "b": "x{{params.bucket}}"}
    before = copy.deepcopy(template)
    render(template, VALUES)
    assert template == before


def test_output_equals_input_without_placeholders() -> None:
    template = {"a": ["x", 1, None, {"b": "{ not: a placeholder }"}], "c": "{{ other.thing }}"}
    assert render(template, VALUES) == template


@pytest.mark.parametrize(
    ("tree", "names"),
    [
        ("s3://{{ params.bucket }}/{{params.prefix}}", ["bucket", "prefix"]),
        ({"a": "{{params.x}}", "b": ["{{params.y}}", {"c": "{{params.x}}"}]}, ["x", "y"]),
        ({"{{params.key}}": "v"}, []),
        ("{{ params.n + 1 }}", []),
        ("{{sensor.path}}", []),
        (5, []),
        (None, []),
    ],
)
def test_placeholders_in_order_of_appearance_once_each(tree: Any, names: list[str]) -> None:
    assert placeholders(tree) == names


def test_sensor_placeholders_render_as_text_in_one_pass() -> None:
    event = {"path": "/in/{{sensor.name}}", "name": "a.csv"}
    rendered = render_sensor({"k": "{{sensor.path}}", "p": "{{params.x}}"}, event)
    assert rendered == {"k": "/in/{{sensor.name}}", "p": "{{params.x}}"}


def test_partition_placeholders_fill_from_the_partition_and_refuse_to_render_without_one() -> None:
    tree = {"path": "{{params.b}}/{{ partition.key }}.csv", "start": "{{partition.start}}"}
    partition = {"key": "2026-11-05", "start": "2026-11-05T00:00:00+00:00"}
    assert render(tree, {"b": "raw"}, partition) == {
        "path": "raw/2026-11-05.csv",
        "start": "2026-11-05T00:00:00+00:00",
    }
    with pytest.raises(NoPartitionError, match=r"`\{\{partition.key\}\}` needs a partition"):
        render(tree, {"b": "raw"})
    # a template without partition placeholders renders without a partition, as before
    assert render({"p": "{{params.b}}"}, {"b": "raw"}) == {"p": "raw"}

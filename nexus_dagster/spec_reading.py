"""Reading spec files: which files of a specs folder are specs, reading one safely (no link out
of the folder, only regular files, a size limit), its YAML with the position of every key
(:mod:`nexus_dagster.yaml_source`), and pydantic's errors turned into problems at the keys and
positions of the file.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nexus_dagster.errors import SpecProblem
from nexus_dagster.rules import suggest
from nexus_dagster.spec_model import (
    JobSpec,
    JobSpecModel,
    ScheduleModel,
    SensorModel,
    dotted,
    printable,
)
from nexus_dagster.yaml_source import MAX_FILE_BYTES, YamlDocument, YamlSyntaxError, load_yaml

SPEC_SUFFIXES = (".yaml", ".yml")


def spec_files(specs_dir: Path) -> list[Path]:
    """Every ``*.yaml`` / ``*.yml`` file under ``specs_dir``, hidden folders skipped, sorted."""
    return sorted(
        p
        for p in specs_dir.rglob("*")
        if p.suffix in SPEC_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(specs_dir).parts)
        and (p.is_file() or p.is_symlink())
    )


def _file_problem(path: Path, line: int, col: int, message: str) -> SpecProblem:
    return SpecProblem(str(path), line, col, "", printable(message))


def read_file(path: Path, real_root: Path, problems: list[SpecProblem]) -> bytes | None:
    """The bytes of a spec file, or ``None`` with the problem when it may not or cannot be read.

    ``real_root`` is the specs folder with its links resolved (once per load)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a link loop: RuntimeError before Python 3.13
        problems.append(_file_problem(path, 1, 1, "refused: a link that cannot be followed"))
        return None
    if not resolved.is_relative_to(real_root):
        problems.append(
            _file_problem(path, 1, 1, "refused: a link that leads outside the specs folder")
        )
        return None
    try:
        status = resolved.stat()
    except OSError:
        status = None
    if status is None or not stat.S_ISREG(status.st_mode):
        problems.append(_file_problem(path, 1, 1, "not a regular file"))
        return None
    if status.st_size > MAX_FILE_BYTES:
        problems.append(
            _file_problem(path, 1, 1, f"file is larger than the limit of {MAX_FILE_BYTES} bytes")
        )
        return None
    try:
        return resolved.read_bytes()
    except OSError as err:
        problems.append(_file_problem(path, 1, 1, f"cannot be read: {err.strerror}"))
        return None


def read_spec(path: Path, data: bytes, problems: list[SpecProblem]) -> JobSpec | None:
    """A spec file's bytes read into a :class:`JobSpec`, not checked yet; ``None`` with the
    problems when they are not a spec. A file whose model does not validate is read without
    its top-level keys that have a problem, each reported on the spec."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        problems.append(_file_problem(path, line, col, "not valid UTF-8 text; save it as UTF-8"))
        return None
    try:
        document = load_yaml(text)
    except YamlSyntaxError as err:
        problems.append(_file_problem(path, err.line, err.col, err.message))
        return None
    for key, line, col in document.duplicates:
        problems.append(
            SpecProblem(str(path), line, col, dotted(key), "duplicate key; keep only one")
        )
    if not isinstance(document.value, dict):
        kinds = {type(None): "an empty file", list: "a list", str: "text", bool: "a boolean"}
        what = kinds.get(type(document.value), "a number")
        problems.append(
            _file_problem(
                path, 1, 1, f"a job spec must be a mapping with at least `selection:`, got {what}"
            )
        )
        return None
    try:
        model = JobSpecModel.model_validate(document.value)
    except ValidationError as err:
        return _partial_spec(path, document, err, problems)
    return JobSpec(path, model.name or path.stem, model, document)


def _partial_spec(
    path: Path, document: YamlDocument, err: ValidationError, problems: list[SpecProblem]
) -> JobSpec | None:
    """A file whose model did not validate, to be checked for everything else: each top-level
    key with a problem is reported and left out, and the rest is read (so a misspelled key does
    not hide an unknown asset or a value of the wrong type). ``None`` when what is left is not
    a spec (no usable ``selection:``)."""
    errors = err.errors()
    reported = JobSpec(path, path.stem, JobSpecModel(selection=[]), document)
    for error in errors:
        _pydantic_problem(reported, error)
    bad = {error["loc"][0] for error in errors if error["loc"]}
    try:
        model = JobSpecModel.model_validate(
            {k: v for k, v in document.value.items() if k not in bad}
        )
    except ValidationError:
        problems.extend(reported.problems)
        return None
    return JobSpec(path, model.name or path.stem, model, document, problems=reported.problems)


_ENTRY_MODELS: dict[str, type[BaseModel]] = {"schedules": ScheduleModel, "sensors": SensorModel}


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    if not loc:
        return JobSpecModel
    if len(loc) == 2 and isinstance(loc[1], int):
        return _ENTRY_MODELS.get(str(loc[0]))
    return None


def _data_loc(value: Any, loc: Sequence[Any]) -> list[Any]:
    """pydantic's ``loc`` without the markers it adds (``[key]``, union members such as
    ``list[str]``); a key of the file that holds ``[`` stays."""
    kept = []
    for part in loc:
        in_dict = isinstance(value, dict) and part in value
        if in_dict or (isinstance(value, list) and type(part) is int and 0 <= part < len(value)):
            value = value[part]
        elif isinstance(part, str) and "[" in part:
            continue
        else:
            value = None
        kept.append(part)
    return kept


def _pydantic_problem(spec: JobSpec, error: Any) -> None:
    loc = _data_loc(spec.document.value, error["loc"])
    kind = error["type"]
    if kind == "invalid_key" or error["loc"][-1:] == ("[key]",):
        # pydantic shows a key `on` as 1 in `loc`; point at it as YAML read it.
        value = error.get("input")
        read_as = {bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        spec.problem(
            [*loc[:-1], value],
            f"this key is read by YAML as {read_as}, not as a name; put it in quotes "
            '(YAML reads unquoted on/off/yes/no/true/false as booleans, e.g. write `"on":`)',
        )
    elif kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        key = str(loc[-1])
        valid = list(parent.model_fields) if parent else []
        hint = suggest(key, valid)
        spec.problem(loc, f"unknown key `{key}`{hint or '.'} Valid keys: {', '.join(valid)}")
    elif kind == "missing":
        parent_key, key = loc[:-1], str(loc[-1])
        spec.problem(parent_key, f"missing required key `{key}`")
    elif kind == "value_error":
        spec.problem(loc, str(error["ctx"]["error"]))
    elif kind == "literal_error":
        spec.problem(loc, f"must be one of {error['ctx']['expected']}")
    elif kind == "bool_type":
        got = type(error.get("input")).__name__
        spec.problem(loc, f"must be `true` or `false` (got {got})")
    else:
        got = type(error.get("input")).__name__
        spec.problem(loc, f"{error['msg'].lower().replace('input', 'value')} (got {got})")

"""The file side of a spec edit: the specs folder's lock, reading the file, checking the edited
text against the folder, and the atomic write.

An edit of :mod:`nexus_dagster.authoring` runs inside :func:`folder_lock`
(``<specs>/.nexus-dagster.lock``), so that concurrent edits of one folder run one after the
other and none is lost; the lock is the operating system's, so a killed edit does not leave it
held. Before anything is written, the edited text is checked in the specs folder itself: the
folder is loaded with that text read in place of the file
(``load_checked_specs(..., texts={path: new_text})``), and nothing is copied or written for the
check. The edited file must load without a problem, and no other file may get a problem it did
not have. :func:`write_atomically` then writes a temporary file beside the spec and
``os.replace``-s it over the spec (a new spec is linked into place instead, so that it never
overwrites a file): a reader, or an edit killed at any moment, finds the old file or the new
one, never a torn one, and the temporary file's name (``.<file>.<random>.tmp``) never counts as
a spec.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.errors import NexusEditError, NexusSpecError, SpecProblem
from nexus_dagster.spec import JobSpec, load_checked_specs
from nexus_dagster.yaml_source import YamlSyntaxError, load_yaml

LOCK_NAME = ".nexus-dagster.lock"
LOCK_TIMEOUT_SECONDS = 60.0


@contextmanager
def folder_lock(root: Path, path: Path) -> Iterator[None]:
    """Hold the lock of the specs folder ``root`` while editing ``path``; refuses the edit
    after waiting :data:`LOCK_TIMEOUT_SECONDS` for another edit to let it go."""
    lock = FileLock(str(root / LOCK_NAME), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        with lock:
            yield
    except Timeout:
        raise NexusEditError(
            str(path),
            [
                f"another edit of {root} has held its lock for {LOCK_TIMEOUT_SECONDS:.0f} s; "
                f"try again (the lock is {root / LOCK_NAME})"
            ],
        ) from None


def read_text(path: Path) -> tuple[str, str]:
    """The file's text with ``\n`` line ends, and the line end it uses, to write it back with."""
    resolved = path.resolve()
    try:
        raw = resolved.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NexusEditError(str(path), [f"cannot read the file: {err}"]) from None
    newline = "\r\n" if b"\r\n" in raw else "\n"
    return text.replace("\r\n", "\n"), newline


def load_alone(
    path: Path, text: str, assets: Sequence[AssetLike]
) -> tuple[JobSpec | None, list[str]]:
    """The file loaded on its own with the assets, as ``text``: its spec, or its problems."""
    try:
        spec = load_checked_specs(
            path.parent, Catalog(assets), texts={path: text}, whole_folder=False
        )[0]
    except NexusSpecError as err:
        return None, [str(p) for p in err.problems]
    return spec, []


def check_folder(
    root: Path,
    path: Path,
    new_text: str,
    assets: Sequence[AssetLike],
    origins: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    """Reasons to refuse the edit, and notes: the edited file must load without a problem;
    other files may keep the problems they had, but get no new one. The folder is checked with
    the edited text in place of the file; nothing is copied or written. A problem of the edited
    file is named by the option behind its key (``origins``: dotted key -> option), or behind
    the closest key there is."""
    before = _folder_problems(root, assets)
    after = _folder_problems(root, assets, {path: new_text})
    reasons = []
    for p in after:
        if p.path == str(path):
            origin = origins.get(p.key) or _closest_origin(p.key, origins)
            reasons.append(
                f"{origin}: {p.message}" if origin else f"{p.key or path.name}: {p.message}"
            )
        elif p not in before:
            reasons.append(f"the edit would make {p}")
    others = [p for p in after if p.path != str(path)]
    notes = (
        [f"{len(others)} problem(s) remain in other spec files; run `nexus-dagster validate`"]
        if others and not reasons
        else []
    )
    return list(dict.fromkeys(reasons)), notes


def _closest_origin(key: str, origins: Mapping[str, str]) -> str | None:
    best = [k for k in origins if key.startswith(k + ".") or k.startswith(key + ".")]
    return origins[max(best, key=len)] if best else None


def _folder_problems(
    root: Path, assets: Sequence[AssetLike], texts: Mapping[Path, str] | None = None
) -> list[SpecProblem]:
    try:
        load_checked_specs(root, Catalog(assets), texts=texts)
    except NexusSpecError as err:
        return list(err.problems)
    return []


def check_written(
    path: Path, new_text: str, written: Sequence[tuple[tuple[Any, ...], Any]]
) -> None:
    """The values written must read back as the same values with the spec loader (YAML 1.1),
    whatever ruamel.yaml (YAML 1.2) chose to write. ``written`` holds each value set, with
    the keys it was set under."""
    try:
        value = load_yaml(new_text).value
    except YamlSyntaxError as err:
        raise NexusEditError(str(path), [f"the edit would not be valid YAML: {err}"]) from None
    for keys, expected in written:
        got: Any = value
        for key in keys:
            got = got.get(key) if isinstance(got, dict) else None
        if got != expected or type(got) is not type(expected):
            raise NexusEditError(
                str(path), [f"{'.'.join(map(str, keys))}: the value would not read back as given"]
            )


def write_atomically(path: Path, text: str, *, exclusive: bool) -> None:
    """Put ``text`` in ``path`` (or in the file a symlink ``path`` points to) through a synced
    temporary file beside it, keeping the file's permissions; ``exclusive`` refuses an
    existing file, and a new one gets the permissions the umask gives."""
    target = path.resolve() if path.is_symlink() else path
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            try:
                os.link(tmp, target)  # fails if the file exists: create never overwrites
            except FileExistsError:
                raise NexusEditError(str(path), [f"{path} already exists"]) from None
        else:
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""What ``rest-checks cache`` does to a response cache folder: list its models, prune
entries unused for a while, clear a model or everything.

Safe beside a run using the same folder: only whole entries (``<sha256>.json``, renamed
into place by their writer) and descriptions are removed, and temporary files only as
every run removes them (``atomic.remove_stale_temps``: when their writer is gone); a
folder is removed only when it is empty. A run whose folder was removed under it makes
it again (``ResponseCache.put``), and an entry removed while a run reads it is asked again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest_checks.atomic import remove_stale_temps, write_atomic
from rest_checks.response_store import DESCRIPTION_FILE, read_description, subfolders

if TYPE_CHECKING:
    from rest_checks.models.registry import ModelOptions

__all__ = [
    "EARLIER_FORMAT",
    "CacheFolderError",
    "CachedModel",
    "Removed",
    "UnknownCachedModelError",
    "cached_models",
    "check_cache_folder",
    "parse_age",
    "remove_entries",
    "select_models",
]

# How the entries of the layout before per-model folders are named on the command line.
EARLIER_FORMAT = "earlier-format"
_MODEL_FOLDER = re.compile(r"^[0-9a-f]{16}$")
_FAN_OUT_FOLDER = re.compile(r"^[0-9a-f]{2}$")
_ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class CacheFolderError(OSError):
    """The cache folder named is not there, or is not a folder."""


class UnknownCachedModelError(LookupError):
    """A model named on the command line has no folder in the cache."""


@dataclass(frozen=True)
class CachedModel:
    """One model's replies in the cache (or the entries of the earlier layout)."""

    key: str  # the folder's name (the identity key), or EARLIER_FORMAT
    label: str  # ``backend:name`` from the folder's description
    identity: dict[str, Any] | None
    folder: Path
    fan_out: tuple[Path, ...]  # the folders holding its entries
    entries: int
    size: int  # bytes, entries and description
    last_used: float | None  # the newest entry's time (written, or last read)


@dataclass
class Removed:
    """What a prune or a clear removed."""

    entries: int = 0
    size: int = 0
    models: int = 0  # model folders removed whole


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` as seconds (argparse's ``type``)."""
    match = _AGE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age: give a number and a unit, s, m, h, d or w "
            "(30d: thirty days, 12h: twelve hours)"
        )
    return float(match.group(1)) * _SECONDS[match.group(2).lower()]


def check_cache_folder(directory: Path) -> None:
    """Raise ``CacheFolderError`` unless ``directory`` is a folder."""
    if not directory.exists():
        raise CacheFolderError(
            f"there is no response cache at {directory}: name it with --cache-dir DIR "
            "(or REST_CACHE), or run this command where the suite runs (its ini file's "
            "rest_cache is read)"
        )
    if not directory.is_dir():
        raise CacheFolderError(f"the response cache {directory} is a file, not a folder")


def cached_models(directory: Path) -> list[CachedModel]:
    """Every model with a folder in the cache, by label, then the earlier layout's entries."""
    models = []
    earlier: list[Path] = []
    for folder in subfolders(directory):
        if _MODEL_FOLDER.match(folder.name):
            models.append(_model(folder))
        elif _FAN_OUT_FOLDER.match(folder.name):
            earlier.append(folder)
    models.sort(key=lambda m: (m.label, m.key))
    if earlier:
        entries, size, last = _measure(earlier)
        label = "(an earlier cache format: never read)"
        folders = tuple(earlier)
        models.append(
            CachedModel(EARLIER_FORMAT, label, None, directory, folders, entries, size, last)
        )
    return models


def _model(folder: Path) -> CachedModel:
    label, identity = "(no description)", None
    described = 0
    with contextlib.suppress(OSError):
        description = folder / DESCRIPTION_FILE
        label, identity = read_description(description.read_text(encoding="utf-8"))
        described = description.stat().st_size
    fan_out = tuple(f for f in subfolders(folder) if _FAN_OUT_FOLDER.match(f.name))
    entries, size, last = _measure(fan_out)
    label = label or "(no name)"
    return CachedModel(
        folder.name, label, identity, folder, fan_out, entries, size + described, last
    )


def _entries(folders: Iterable[Path]) -> Iterator[tuple[str, os.stat_result]]:
    """Each reply file in ``folders`` (path and stat); temporary files are not replies."""
    for folder in folders:
        try:
            found = list(os.scandir(folder))
        except OSError:
            continue
        for entry in found:
            if not _ENTRY.match(entry.name):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone already: pruned beside us
            yield entry.path, stat


def _measure(folders: Iterable[Path]) -> tuple[int, int, float | None]:
    count, size, last = 0, 0, None
    for _, stat in _entries(folders):
        count += 1
        size += stat.st_size
        last = stat.st_mtime if last is None else max(last, stat.st_mtime)
    return count, size, last


def select_models(
    models: Sequence[CachedModel], names: Sequence[str], options: ModelOptions | None = None
) -> list[CachedModel]:
    """The models ``names`` name: each a label (``openai:gpt-4o-mini``: every identity of
    that model), the model's name alone, a spec ``--model`` takes for it (an alias such as
    ``qwen2-vl``, ``ollama:NAME``, a name of the models file here), a folder's key or a
    prefix of one (four hex digits or more), or ``earlier-format``. ``options`` name the
    models file whose names count as specs."""
    chosen: dict[str, CachedModel] = {}
    for name in names:
        labels = spec_labels(name, options)
        found = [m for m in models if _names(m, name) or m.label in labels]
        if not found:
            raise UnknownCachedModelError(_unknown(models, name))
        chosen.update((m.key, m) for m in found)
    return list(chosen.values())


def _names(model: CachedModel, name: str) -> bool:
    identity_name = (model.identity or {}).get("name")
    by_key = len(name) >= 4 and model.key.startswith(name.lower())
    return by_key or name in (model.label, model.key, identity_name)


def spec_labels(spec: str, options: ModelOptions | None = None) -> set[str]:
    """The labels (``backend:name``) of the model ``--model SPEC`` builds, as its cache
    folder names it; none where the registry does not know the spec (or the models file
    here cannot be read: then only labels and keys select)."""
    from rest_checks.models.registry import ModelsFileError, UnknownModelError, resolve

    try:
        resolved = resolve(spec, options)
    except (UnknownModelError, ModelsFileError):
        return set()
    names = {resolved.name}
    if resolved.backend == "hf" and Path(resolved.name).is_dir():
        # A local checkpoint is named by its folder's name (its path is the machine's).
        names.add(Path(resolved.name).resolve().name)
    return {f"{resolved.backend}:{name}" for name in names}


def _unknown(models: Sequence[CachedModel], name: str) -> str:
    if not models:
        return f"no model {name!r} in the cache: it holds no replies"
    held = ", ".join(f"{m.label} ({m.key})" for m in models)
    return (
        f"no model {name!r} in the cache; give a model as 'rest-checks cache list' shows it, "
        f"or its key: {held}"
    )


def remove_entries(models: Sequence[CachedModel], older_than: float | None = None) -> Removed:
    """Remove the models' entries last used more than ``older_than`` seconds ago (all of
    them when ``None``), then the folders left empty; a model folder left without entries
    goes whole, its description too."""
    cutoff = None if older_than is None else time.time() - older_than
    removed = Removed()
    for model in models:
        for path, stat in list(_entries(model.fan_out)):
            if cutoff is not None and stat.st_mtime >= cutoff:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.entries += 1
                removed.size += stat.st_size
        for folder in model.fan_out:
            _remove_if_empty(folder)
        if model.key != EARLIER_FORMAT:
            described = _remove_model_folder(model.folder)
            if described is not None:
                removed.models += 1
                removed.size += described
    return removed


def _remove_if_empty(folder: Path) -> bool:
    """Remove ``folder`` if nothing but stale temporary files is in it."""
    remove_stale_temps(folder)
    try:
        folder.rmdir()
    except OSError:
        return False  # not empty: entries kept, or a run writing in it now
    return True


def _remove_model_folder(folder: Path) -> int | None:
    """Remove a model folder that holds nothing but its description; the description's
    size when it went. Should a run write in it meanwhile, the description is put back
    for the entries it writes."""
    if subfolders(folder):
        return None
    description = folder / DESCRIPTION_FILE
    try:
        text = description.read_text(encoding="utf-8")
        description.unlink()
    except OSError:
        text = None
    if _remove_if_empty(folder):
        return len(text.encode()) if text is not None else 0
    if text is not None:
        with contextlib.suppress(OSError):
            write_atomic(description, text, durable=False)
    return None

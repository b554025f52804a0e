"""``rest-checks cache list | prune | clear``: the response cache's models, and removing
what is no longer wanted (``cache_maintenance`` does the work; this is the command line)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from rest_checks.cache_maintenance import (
    CachedModel,
    Removed,
    cached_models,
    check_cache_folder,
    parse_age,
    remove_entries,
    select_models,
)
from rest_checks.config import OPTIONS_BY_DEST, resolve_option
from rest_checks.models.registry import DEFAULT_MODELS_FILE, ModelOptions
from rest_checks.pytest_ini import PytestIni, find_ini
from rest_checks.terminal_text import printable

__all__ = ["add_cache_parser", "default_cache_dir"]


def suite_path(dest: str, ini: PytestIni) -> Path | None:
    """A path option (``rest_cache``, ``rest_models_file``) as the suite would resolve it
    without flags where ``ini`` is its ini file: its environment variable, else the ini
    file's key, else its default; a relative one against pytest's rootdir."""
    option = OPTIONS_BY_DEST[dest]
    raw = resolve_option(option, None, os.environ, ini.values.get(option.ini))
    if raw is None:
        return None
    path = Path(str(raw)).expanduser()
    return path if path.is_absolute() else ini.rootdir / path


def default_cache_dir(start: Path | None = None) -> Path:
    """The folder the suite caches in when run from ``start`` (default: here)."""
    folder = suite_path("rest_cache", find_ini(start or Path.cwd()))
    assert folder is not None, "rest_cache has a default"
    return folder


def suite_model_options(ini: PytestIni) -> ModelOptions:
    """The models file the suite reads where ``ini`` is its ini file (for the specs
    ``--model`` takes): ``REST_MODELS_FILE``, else the ini file's ``rest_models_file``,
    else ``rest_models.toml`` in the rootdir."""
    named = suite_path("rest_models_file", ini)
    if named is not None:
        return ModelOptions(models_file=named, models_file_named=True)
    return ModelOptions(models_file=ini.rootdir / DEFAULT_MODELS_FILE)


def add_cache_parser(sub: Any) -> None:
    """The ``cache`` command and its three subcommands, on ``rest-checks``'s subparsers."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--cache-dir",
        type=Path,
        help="the response cache folder (default: the suite's: $REST_CACHE, else the ini "
        "file's rest_cache, else .rest-cache, relative to pytest's rootdir)",
    )
    models = argparse.ArgumentParser(add_help=False)
    models.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model as 'list' shows it (backend:name, or its key); may be repeated",
    )
    cache = sub.add_parser("cache", help="list, prune or clear the response cache")
    verbs = cache.add_subparsers(dest="cache_command", required=True)

    listing = verbs.add_parser("list", parents=[where], help="each model: entries, size, last use")
    listing.set_defaults(run=cmd_cache_list)

    prune = verbs.add_parser(
        "prune", parents=[where, models], help="remove entries unused for a while, or a model's"
    )
    prune.add_argument(
        "--older-than",
        type=parse_age,
        metavar="AGE",
        help="remove entries last used longer ago than AGE (30d, 12h, 2w)",
    )
    prune.set_defaults(run=cmd_cache_prune)

    clear = verbs.add_parser("clear", parents=[where, models], help="remove a model's entries")
    clear.add_argument("--all", action="store_true", help="remove every model's entries")
    clear.set_defaults(run=cmd_cache_clear)


def _models(args: argparse.Namespace) -> tuple[Path, list[CachedModel]]:
    directory = args.cache_dir or default_cache_dir()
    check_cache_folder(directory)
    return directory, cached_models(directory)


def cmd_cache_list(args: argparse.Namespace) -> int:
    directory, models = _models(args)
    entries = sum(m.entries for m in models)
    print(
        f"response cache {directory}: {len(models)} model(s), {entries} entries, "
        f"{human_size(sum(m.size for m in models))}"
    )
    if not models:
        return 0
    width = max(len("MODEL"), *(len(printable(m.label)) for m in models))
    print(f"{'MODEL':<{width}}  {'KEY':<16}  {'ENTRIES':>7}  {'SIZE':>9}  LAST USED")
    now = time.time()
    for m in models:
        print(
            f"{printable(m.label):<{width}}  {m.key:<16}  {m.entries:>7}  "
            f"{human_size(m.size):>9}  {last_used(m.last_used, now)}"
        )
    return 0


def cmd_cache_prune(args: argparse.Namespace) -> int:
    if args.older_than is None and not args.model:
        raise ValueError("say what to prune: --older-than AGE, --model NAME, or both")
    _, models = _models(args)
    chosen = _named(models, args.model) if args.model else models
    removed = remove_entries(chosen, args.older_than)
    unused = f" last used more than {_age(args.older_than)} ago" if args.older_than else ""
    print(_removed_line(removed, chosen, unused))
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    if args.all == bool(args.model):
        raise ValueError(
            "say what to clear: --model NAME (one model; see 'rest-checks cache list'), "
            "or --all (every model)"
        )
    _, models = _models(args)
    chosen = models if args.all else _named(models, args.model)
    print(_removed_line(remove_entries(chosen), chosen, ""))
    return 0


def _named(models: list[CachedModel], names: list[str]) -> list[CachedModel]:
    """The models ``--model`` names, specs of the suite's models file included."""
    return select_models(models, names, suite_model_options(find_ini(Path.cwd())))


def _removed_line(removed: Removed, chosen: list[CachedModel], unused: str) -> str:
    names = ", ".join(printable(m.label) for m in chosen) or "no model"
    whole = f"; {removed.models} model folder(s) removed whole" if removed.models else ""
    return (
        f"removed {removed.entries} entries{unused} ({human_size(removed.size)}) of {names}{whole}"
    )


def human_size(size: int) -> str:
    """``1.2 MB``: bytes in decimal units."""
    units = ("B", "kB", "MB", "GB", "TB")
    value, unit = float(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def last_used(when: float | None, now: float) -> str:
    """``2026-12-04 22:10 (3 days ago)``, in local time; ``-`` without entries."""
    if when is None:
        return "-"
    days = int((now - when) // 86400)
    ago = "today" if days <= 0 else "1 day ago" if days == 1 else f"{days} days ago"
    return f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(when))} ({ago})"


def _age(seconds: float) -> str:
    for unit, size in (("weeks", 7 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"

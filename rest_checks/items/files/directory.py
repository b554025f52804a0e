"""A directory of MMLU CSVs (the original ``data/test/``, one file per subject) read as
one task source, and the seeded sample across its subjects."""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from rest_checks.items.base import Item
from rest_checks.items.files.csv_mmlu import subject_from_name
from rest_checks.items.files.errors import ItemFileError
from rest_checks.items.files.load import LoadResult, load_item_file

DIRECTORY_SUFFIXES = (".csv", ".tsv")


def load_item_dir(path: str | os.PathLike[str], layout: str | None = None) -> LoadResult:
    """Every ``.csv`` (and ``.tsv``) file of ``path``, in name order, as one source; the
    subject of each item is its file's name less ``_test``/``_dev``/``_val``."""
    folder = Path(path)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DIRECTORY_SUFFIXES
    )
    if not files:
        raise ItemFileError(folder, None, "a directory of item files must hold .csv files")
    merged = LoadResult([], {}, str(folder), {}, "", True, 0, len(files))
    layouts = set()
    for file in files:
        part = load_item_file(file, layout)
        layouts.add(part.layout)
        merged.detected = merged.detected and part.detected
        merged.control_chars += part.control_chars
        for reason, count in part.dropped.items():
            merged.dropped[reason] = merged.dropped.get(reason, 0) + count
        for item in part.items:
            subject = item.subject or subject_from_name(file)
            merged.items.append(item)
            merged.subjects[item.id] = subject
    merged.layout = ",".join(sorted(layouts))
    return merged


def stratified_sample(
    items: Sequence[Item], n: int, seed: int, subjects: dict[str, str]
) -> list[Item]:
    """``n`` items spread over subjects in proportion to their sizes (largest remainders,
    ties broken by the seed), each subject's share drawn with the seed; in input order."""
    if n <= 0 or n >= len(items):
        return list(items)
    groups: dict[str, list[int]] = defaultdict(list)
    for position, item in enumerate(items):
        groups[subjects.get(item.id, "")].append(position)
    rng = random.Random(f"subjects:{seed}")
    names = sorted(groups)
    rng.shuffle(names)  # the seed decides which subjects get a remainder on a tie
    exact = {name: n * len(groups[name]) / len(items) for name in names}
    quota = {name: int(exact[name]) for name in names}
    by_remainder = sorted(names, key=lambda name: exact[name] - quota[name], reverse=True)
    for name in by_remainder[: n - sum(quota.values())]:
        quota[name] += 1
    chosen: list[int] = []
    for name in names:
        members = list(groups[name])
        random.Random(f"subject:{seed}:{name}").shuffle(members)
        chosen.extend(members[: quota[name]])
    return [items[position] for position in sorted(chosen)]

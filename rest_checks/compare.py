"""Two runs side by side, from their results JSON: the headline rates of each, the cases
whose consistency changed, and the exact McNemar test on the items both asked.

Cases are matched by key and counted as shared only where both runs asked the same content
(equal fingerprints): two runs of other seeds share ids, not items.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.case_rows import CaseRow, case_rows
from rest_checks.metrics.statistics import PairedComparison, compare_runs
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.report import RESULTS_FORMAT


class ResultsFileError(ValueError):
    """A file that is not a readable rest-checks results document."""


def load_results(path: Path) -> dict[str, Any]:
    """Read a results JSON, saying which file and line is wrong if it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    needed = ("format", "model", "metrics", "items", "cases")
    missing = [k for k in needed if not isinstance(data, dict) or k not in data]
    if missing:
        raise ResultsFileError(
            f"{path}: not a rest-checks results file (--rest-json); missing {', '.join(missing)}"
        )
    if data["format"] != RESULTS_FORMAT:
        raise ResultsFileError(
            f"{path}: results format {data['format']!r}, this rest-checks reads format "
            f"{RESULTS_FORMAT}; run the suite again with --rest-json, or read the file with "
            "the rest-checks version that wrote it"
        )
    return data


def results_paths(paths: Sequence[Path]) -> list[Path]:
    """The results files named: a file as given, a folder as its ``*.json`` files (sorted
    by name). A folder without one is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.json") if p.is_file())
            if not inside:
                raise ResultsFileError(f"{path}: a folder with no results file (*.json) in it")
            found.extend(inside)
        else:
            found.append(path)
    return found


@dataclass(frozen=True)
class RatePair:
    name: str
    first: Mapping[str, Any]  # {"value", "k", "n", "ci95"}
    second: Mapping[str, Any]


@dataclass(frozen=True)
class ChangedCase:
    key: str
    direction: str  # "lost" (consistent before, not now) or "gained"
    first: CaseRow | None
    second: CaseRow | None


@dataclass(frozen=True)
class RunComparison:
    names: tuple[str, str]
    models: tuple[str, str]
    rates: list[RatePair]
    items: PairedComparison  # cross-modal cases at the default rendering
    others: PairedComparison  # REST+ and invariance cases
    changed: list[ChangedCase]
    different_content: list[str]  # same key, other content: left out of every count
    # RER per REST+ rendering of each run (None where a run did not have it).
    renderings: list[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]]


def _rate(metrics: Mapping[str, Any], key: str, sub: str | None = None) -> dict[str, Any]:
    value, counts, interval = metrics[key], metrics["counts"][key], metrics["intervals"][key]
    if sub is not None:
        value, counts, interval = value[sub], counts[sub], interval[sub]
    return {"value": value, "k": counts[0], "n": counts[1], "ci95": list(interval)}


def headline_rates(metrics: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """RER, CFR, MMC and accuracy per modality, as the results document counts them."""
    rates = [(name.upper(), _rate(metrics, name)) for name in ("rer", "cfr", "mmc")]
    rates += [(f"accuracy {m}", _rate(metrics, "accuracy", m)) for m in ANSWER_MODALITIES]
    return rates


def compare_results(
    first: Mapping[str, Any], second: Mapping[str, Any], names: tuple[str, str] = ("A", "B")
) -> RunComparison:
    prints_a, prints_b = first.get("fingerprints", {}), second.get("fingerprints", {})
    different = sorted(
        k
        for k in set(first["cases"]) & set(second["cases"])
        if k in prints_a and k in prints_b and prints_a[k] != prints_b[k]
    )
    cases_a = {k: v for k, v in first["cases"].items() if k not in different}
    cases_b = {k: v for k, v in second["cases"].items() if k not in different}

    def split(cases: Mapping[str, bool], cross: bool) -> dict[str, bool]:
        return {k: v for k, v in cases.items() if ("@" not in k) == cross}

    items = compare_runs(split(cases_a, True), split(cases_b, True))
    others = compare_runs(split(cases_a, False), split(cases_b, False))
    rows_a = {r.key: r for r in case_rows(first)}
    rows_b = {r.key: r for r in case_rows(second)}
    changed = [
        ChangedCase(key, direction, rows_a.get(key), rows_b.get(key))
        for direction, keys in (
            ("lost", items.lost_ids + others.lost_ids),
            ("gained", items.gained_ids + others.gained_ids),
        )
        for key in keys
    ]
    rates_a, rates_b = headline_rates(first["metrics"]), headline_rates(second["metrics"])
    return RunComparison(
        names=names,
        models=(str(first["model"]), str(second["model"])),
        rates=[RatePair(n, a, b) for (n, a), (_, b) in zip(rates_a, rates_b, strict=True)],
        items=items,
        others=others,
        changed=sorted(changed, key=lambda c: c.key),
        different_content=different,
        renderings=[
            (name, first.get("rest_plus", {}).get(name), second.get("rest_plus", {}).get(name))
            for name in sorted({*first.get("rest_plus", {}), *second.get("rest_plus", {})})
        ],
    )


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "  n/a"
    return f"{100 * float(value):5.1f}%"


def _answers(row: CaseRow | None) -> str:
    if row is None:
        return "(not in this run)"
    if row.error:
        return f"(error: {row.error})"
    return ", ".join(f"{m} {row.answers.get(m) or '-'}" for m in ANSWER_MODALITIES)


def format_comparison(comparison: RunComparison) -> list[str]:
    """The comparison for a terminal."""
    a, b = comparison.names
    lines = [f"A = {a} (model {comparison.models[0]})", f"B = {b} (model {comparison.models[1]})"]
    lines.append(f"  {'':<18}{'A':>7}  {'':<16}{'B':>7}")
    for pair in comparison.rates:
        lines.append(
            f"  {pair.name:<18}{_pct(pair.first['value'])}  ({pair.first['k']}/{pair.first['n']})"
            f"{'':<8}{_pct(pair.second['value'])}  ({pair.second['k']}/{pair.second['n']})"
        )
    if comparison.renderings:
        lines.append("  REST+ RER per rendering")

    def rendering_rate(stat: Mapping[str, Any] | None) -> str:
        return (
            "    -" + " " * 9
            if stat is None
            else f"{_pct(stat['value'])}  ({stat['k']}/{stat['n']})"
        )

    for name, stat_a, stat_b in comparison.renderings:
        lines.append(f"    {name:<22}{rendering_rate(stat_a):<20}{rendering_rate(stat_b)}")
    items = comparison.items
    lines.append(
        f"shared items {items.n_common}: RER {_pct(items.rer_baseline)} -> "
        f"{_pct(items.rer_current)}, lost {items.lost}, gained {items.gained}, "
        f"exact McNemar p={items.p_value:.4g}"
    )
    if comparison.others.n_common:
        o = comparison.others
        lines.append(
            f"shared REST+ cases {o.n_common}: lost {o.lost}, gained {o.gained}, "
            f"exact McNemar p={o.p_value:.4g}"
        )
    if items.only_in_baseline or items.only_in_current:
        lines.append(
            f"items only in A: {len(items.only_in_baseline)}, only in B: "
            f"{len(items.only_in_current)} (not compared)"
        )
    if comparison.different_content:
        lines.append(
            f"{len(comparison.different_content)} case(s) share an id but not their content "
            "(another seed or item file): not compared"
        )
    for case in comparison.changed:
        lines.append(f"  {case.direction:<6} {case.key}")
        lines.append(f"      A: {_answers(case.first)}")
        lines.append(f"      B: {_answers(case.second)}")
    if not comparison.changed:
        lines.append("no case changed")
    return lines

"""Two runs side by side, from their results JSON: the headline rates of each, the cases
whose consistency changed, and the exact McNemar test on the items both asked.

Cases are matched by key and counted as shared only where both runs asked the same content
(equal fingerprints): two runs of other seeds share ids, not items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rest_checks.case_rows import CaseRow, case_rows
from rest_checks.metrics.statistics import PairedComparison, compare_runs
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.rates_text import headline_rates
from rest_checks.results_document import Rate, RestPlusRendering, ResultsDocument
from rest_checks.wording import pct


@dataclass(frozen=True)
class RatePair:
    name: str
    first: Rate
    second: Rate


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
    renderings: list[tuple[str, RestPlusRendering | None, RestPlusRendering | None]]


def compare_results(
    first: ResultsDocument, second: ResultsDocument, names: tuple[str, str] = ("A", "B")
) -> RunComparison:
    prints_a, prints_b = first["fingerprints"], second["fingerprints"]
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
            (name, first["rest_plus"].get(name), second["rest_plus"].get(name))
            for name in sorted({*first["rest_plus"], *second["rest_plus"]})
        ],
    )


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
            f"  {pair.name:<18}{pct(pair.first['value'], 6)}  ({pair.first['k']}/{pair.first['n']})"
            f"{'':<8}{pct(pair.second['value'], 6)}  ({pair.second['k']}/{pair.second['n']})"
        )
    if comparison.renderings:
        lines.append("  REST+ RER per rendering")

    def rendering_rate(stat: RestPlusRendering | None) -> str:
        return (
            "    -" + " " * 9
            if stat is None
            else f"{pct(stat['value'], 6)}  ({stat['k']}/{stat['n']})"
        )

    for name, stat_a, stat_b in comparison.renderings:
        lines.append(f"    {name:<22}{rendering_rate(stat_a):<20}{rendering_rate(stat_b)}")
    items = comparison.items
    lines.append(
        f"shared items {items.n_common}: RER {pct(items.rer_baseline, 6)} -> "
        f"{pct(items.rer_current, 6)}, lost {items.lost}, gained {items.gained}, "
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

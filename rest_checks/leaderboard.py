"""Many runs side by side, from their results JSON: one row per run with RER, CFR, MMC and
accuracy per modality (each with its Wilson interval), the same per task source, and the
exact McNemar test between every two runs on their shared items, Holm across the pairs, so
that "A is more consistent than B" is said only where it holds (docs/leaderboard.md).

Only runs that asked the same items the same way are ranked together: the runs that agree
with the most others (ties: the first given) form the board; each other run is shown apart
with the reasons (another seed, item file or prompt texts; items missing or of other
content).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from rest_checks.metrics import ItemOutcome, compare_runs, holm_levels, summarize
from rest_checks.parity import parity_point_words
from rest_checks.probe_relation import ProbeFit, fit_probe_relation, mean_probe_cosine
from rest_checks.rates_text import headline_rates
from rest_checks.results_document import Parity, Rate, ResultsDocument
from rest_checks.step_summary import markdown_cell
from rest_checks.wording import pct

# Signature fields that must be equal for two runs' rates to be compared (docs/gate.md
# describes each); the Hypothesis profile only draws the invariance check's renderings.
MATCHED_SIGNATURE = ("seed", "sources", "extract", "prompts", "answer_budgets", "renderer", "fonts")


@dataclass(frozen=True)
class Run:
    """One results document and the name it is shown under (its file)."""

    name: str
    results: ResultsDocument

    @property
    def model(self) -> str:
        return str(self.results["model"])

    def item_prints(self) -> dict[str, str | None]:
        """Cross-modal case key -> content fingerprint (None for an errored case, which
        was asked but has no reply)."""
        prints = self.results["fingerprints"]
        found: dict[str, str | None] = {
            key: prints.get(key) for key in self.results["cases"] if "@" not in key
        }
        for error in self.results["errors"]:
            if "@" not in error["key"]:
                found.setdefault(error["key"], None)
        return found

    def item_cases(self) -> dict[str, bool]:
        return {k: v for k, v in self.results["cases"].items() if "@" not in k}


def apart_reasons(run: Run, reference: Run) -> list[str]:
    """Why ``run`` cannot be ranked with ``reference``: empty when it can."""
    reasons = []
    ours, theirs = run.results["signature"], reference.results["signature"]
    for name in MATCHED_SIGNATURE:
        if ours.get(name) != theirs.get(name):
            reasons.append(
                f"{name} {json.dumps(ours.get(name), sort_keys=True)} against "
                f"{json.dumps(theirs.get(name), sort_keys=True)}"
            )
    mine, board = run.item_prints(), reference.item_prints()
    missing, extra = sorted(board.keys() - mine.keys()), sorted(mine.keys() - board.keys())
    differing = sorted(
        k
        for k in mine.keys() & board.keys()
        if None not in (mine[k], board[k]) and mine[k] != board[k]
    )
    if missing:
        reasons.append(f"{len(missing)} of the board's {len(board)} items not run")
    if extra:
        reasons.append(f"{len(extra)} items the board does not have")
    if differing:
        reasons.append(f"{len(differing)} items of the same id ask other content")
    return reasons


def _board(runs: Sequence[Run]) -> tuple[list[Run], list[tuple[Run, list[str]]]]:
    """The runs ranked together and the others with why."""
    agreeing = [[other for other in runs if not apart_reasons(other, run)] for run in runs]
    best = max(range(len(runs)), key=lambda i: (len(agreeing[i]), -i))
    reference = runs[best]
    board = agreeing[best]
    apart = [(run, apart_reasons(run, reference)) for run in runs if run not in board]
    return board, apart


def _task_rates(results: ResultsDocument) -> dict[str, list[tuple[str, Rate]]]:
    """Task source -> the headline rates on its items, from the items' answers."""
    by_task: dict[str, list[ItemOutcome]] = {}
    for item in results["items"]:
        by_task.setdefault(item["task"], []).append(
            ItemOutcome(
                id=item["id"], task=item["task"], expected=item["expected"], answers=item["answers"]
            )
        )
    return {
        task: headline_rates(summarize(outcomes).to_json())
        for task, outcomes in sorted(by_task.items())
    }


@dataclass(frozen=True)
class PairTest:
    """Two runs on the items both answered: ``only_first`` items consistent in the first
    run only, ``only_second`` the reverse; ``level``: the Holm level its p-value was held
    to (None: the step-down stopped before it)."""

    first: str
    second: str
    n_shared: int
    only_first: int
    only_second: int
    p_value: float
    level: float | None

    @property
    def shown(self) -> bool:
        return self.level is not None and self.p_value < self.level

    def sentence(self) -> str:
        counts = (
            f"{self.only_first} items consistent only in {self.first}, {self.only_second} only in "
            f"{self.second}, of {self.n_shared} shared; exact McNemar p={self.p_value:.4g}"
        )
        level = "not tested" if self.level is None else f"Holm level {self.level:.4g}"
        if not self.shown:
            return f"{self.first} and {self.second}: no difference shown ({counts}, {level})"
        better, worse = (
            (self.first, self.second)
            if self.only_first > self.only_second
            else (self.second, self.first)
        )
        return f"{better} is more consistent than {worse} ({counts}, {level})"


@dataclass(frozen=True)
class Leaderboard:
    """``rows``: (run, headline rates, task -> rates), by RER, best first."""

    rows: list[tuple[Run, list[tuple[str, Rate]], dict[str, list[tuple[str, Rate]]]]]
    pairs: list[PairTest]
    apart: list[tuple[Run, list[str]]]
    alpha: float
    # Mean probe cosine against RER across the ranked runs made with --rest-probe.
    probe: ProbeFit | None = None

    def parity(self) -> list[tuple[Run, Parity]]:
        """The ranked runs made with ``--rest-parity``, with their parity tables."""
        return [
            (run, table) for run, _, _ in self.rows if (table := run.results["parity"]) is not None
        ]

    @property
    def tasks(self) -> list[str]:
        return sorted({task for _, _, by_task in self.rows for task in by_task})


def _rer(rates: list[tuple[str, Rate]]) -> float:
    value = dict(rates)["RER"]["value"]
    return -1.0 if value is None else float(value)


def build_leaderboard(runs: Sequence[Run], alpha: float = 0.05) -> Leaderboard:
    """Rank ``runs`` (two or more) by RER and test every pair of the ranked runs."""
    if len(runs) < 2:
        raise ValueError(f"a leaderboard needs two or more runs, got {len(runs)}")
    board, apart = _board(runs)
    rows = [
        (run, headline_rates(run.results["metrics"]), _task_rates(run.results)) for run in board
    ]
    rows.sort(key=lambda row: -_rer(row[1]))
    comparisons = {
        (a.name, b.name): compare_runs(a.item_cases(), b.item_cases())
        for (a, _, _), (b, _, _) in combinations(rows, 2)
    }
    levels = holm_levels({f"{a}\0{b}": c.p_value for (a, b), c in comparisons.items()}, alpha)
    pairs = [
        PairTest(a, b, c.n_common, c.lost, c.gained, c.p_value, levels[f"{a}\0{b}"])
        for (a, b), c in comparisons.items()
    ]
    probed = [
        (run.name, found[0], found[1], _rer(rates))
        for run, rates, _ in rows
        if (found := mean_probe_cosine(run.results)) is not None and _rer(rates) >= 0
    ]
    return Leaderboard(rows, pairs, apart, alpha, fit_probe_relation(probed))


def _rate_cell(rate: Rate) -> str:
    low, high = rate["ci95"]
    return f"{pct(rate['value'])} [{pct(low)}, {pct(high)}]"


def _rates_table(rows: Sequence[tuple[Run, Sequence[tuple[str, Rate]]]]) -> list[str]:
    names = [name for name, _ in rows[0][1]]
    lines = ["| run | model | items | " + " | ".join(names) + " |"]
    lines.append("|---|---|---:|" + "---:|" * len(names))
    for run, rates in rows:
        cells = " | ".join(_rate_cell(rate) for _, rate in rates)
        n = dict(rates)["RER"]["n"]
        lines.append(f"| {markdown_cell(run.name)} | {markdown_cell(run.model)} | {n} | {cells} |")
    return lines


def leaderboard_markdown(board: Leaderboard) -> str:
    """The board as Markdown: the table overall and per task source (rates with their 95%
    Wilson interval), the pairwise tests, the runs shown apart."""
    lines = ["## rest-checks leaderboard", ""]
    lines += _rates_table([(run, rates) for run, rates, _ in board.rows])
    lines += ["", "Rates with their 95% Wilson interval, best RER first."]
    for task in board.tasks:
        lines += ["", f"### Task source {markdown_cell(task)}", ""]
        lines += _rates_table(
            [(run, by_task[task]) for run, _, by_task in board.rows if task in by_task]
        )
    if board.pairs:
        lines += ["", f"### Which run is more consistent (Holm at {100 * board.alpha:.4g}%)", ""]
        lines += [f"- {markdown_cell(pair.sentence())}" for pair in board.pairs]
    if board.probe is not None:
        lines += ["", "### Representation and consistency", ""]
        lines += ["| run | mean cosine | items probed | RER |", "|---|---:|---:|---:|"]
        lines += [
            f"| {markdown_cell(name)} | {cosine:.3f} | {n} | {pct(rer)} |"
            for name, cosine, n, rer in board.probe.points
        ]
        lines += ["", board.probe.describe() + "."]
    if board.parity():
        lines += ["", "### Visual-token parity", ""]
        lines += ["| run | parity point | text accuracy |", "|---|---|---:|"]
        lines += [
            f"| {markdown_cell(run.name)} | {markdown_cell(parity_point_words(table))} | "
            f"{_rate_cell(table['text_accuracy'])} |"
            for run, table in board.parity()
        ]
    if board.apart:
        lines += ["", "### Not ranked: other items or settings", ""]
        lines += [
            f"- {markdown_cell(run.name)} ({markdown_cell(run.model)}): "
            f"{markdown_cell('; '.join(reasons))}"
            for run, reasons in board.apart
        ]
    return "\n".join(lines) + "\n"

"""The sequential gate in a run (``--rest-sequential``): ask the baseline's items a wave at
a time, in the seeded interleaved order with cached ones first, and stop once the verdict
is certain. The procedure is ``rest_checks.sequential``'s; this module feeds it a run's
replies, read exactly as the cross-modal test reads them (``RestRun.read_case``).

It runs in the process that asks ahead, before the first test; the cases it did not need
are then skipped with the reason. Not under xdist (``-n N``): refused before any model call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from rest_checks.baselines import Baseline
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.progress import Progress
from rest_checks.records import case_key
from rest_checks.run import Case, RestRun
from rest_checks.sequential import WAVE, SequentialDecision, interleaved_order, run_sequence

__all__ = ["decide", "refusal"]


def refusal(settings: RestSettings, baseline: Baseline | None, workers: int) -> str | None:
    """Why ``--rest-sequential`` cannot run as asked (a usage error), or None."""
    if not settings.sequential:
        return None
    if settings.update_baseline:
        return (
            "--rest-sequential cannot be used with --snapshot-update: a baseline needs every "
            "case, and the sequential gate asks only as many as it needs"
        )
    if baseline is None:
        return (
            f"--rest-sequential needs a baseline to compare with, and there is none at "
            f"{settings.baseline_path}; write one first with --snapshot-update"
        )
    if workers:
        return (
            f"--rest-sequential does not run under xdist (-n {workers}): the items are asked "
            "in one sequence of waves; run it without -n (or with -n 0)"
        )
    return None


def _ordered(run: RestRun, cases: list[Case], seed: int) -> list[Case]:
    """The cross-modal cases in the seeded interleaved order, those whose replies are all
    stored (free) first, each group in that order."""
    by_key = {case_key(item.id): (item, rendering) for item, rendering in cases}
    order = [by_key[k] for k in interleaved_order({k: c[0].task for k, c in by_key.items()}, seed)]
    cached = [case for case in order if run.stored(*case)]
    return cached + [case for case in order if not run.stored(*case)]


def decide(run: RestRun, progress: Progress | None = None) -> SequentialDecision | None:
    """Run the sequential gate over the run's planned cross-modal cases and keep the
    decision on the run (``run.sequential``, ``run.not_needed``). None when there is
    nothing to decide on (no baseline, or no cross-modal case planned)."""
    baseline = run.baseline
    cases = [case for case in run.planned() if case[1] == "default"]
    if baseline is None or not cases:
        return None
    ordered = _ordered(run, cases, run.settings.seed)

    def waves() -> Iterator[list[tuple[str, int | None]]]:
        for start in range(0, len(ordered), WAVE):
            wave = ordered[start : start + WAVE]
            run.ask(wave, progress)
            yield [_difference(run, baseline, item) for item, _ in wave]

    decision = run_sequence(waves(), len(ordered), run.settings.alpha, run.settings.tolerance)
    not_needed = frozenset(case_key(item.id) for item, _ in ordered) - set(decision.asked)
    per_case = len(run.requests_for(cases[0][0], "default"))
    run.sequential = dataclasses.replace(decision, requests_saved=per_case * len(not_needed))
    run.not_needed = not_needed
    return run.sequential


def _difference(run: RestRun, baseline: Baseline, item: Item) -> tuple[str, int | None]:
    """(case key, d): d = baseline-consistent - now-consistent, None when the case cannot
    be compared (no reply now, or no such case in the baseline)."""
    record = run.read_case(item)
    before = baseline.consistent(record.key)
    if record.error is not None or before is None:
        return record.key, None
    return record.key, int(before) - int(record.consistent)

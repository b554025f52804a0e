"""The sequential gate in a run (``--rest-sequential``): ask the baseline's items a wave at
a time, in the seeded interleaved order with cached ones first, and stop once the verdict
is certain. The procedure is ``rest_checks.sequential``'s; this module feeds it a run's
replies, read exactly as the cross-modal test reads them (``RestRun.read_case``).

It runs before the first test: in the process that runs the tests, or under xdist
(``-n N``) on the controller as the first worker starts, which hands the decision to every
worker (the workers read the replies from the disk cache). The cases it did not need are
skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

from rest_checks.baselines import Baseline
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.progress import Progress
from rest_checks.records import case_key
from rest_checks.run import Case, RestRun
from rest_checks.sequential import WAVE, SequentialDecision, interleaved_order, run_sequence

__all__ = ["asking_order", "decide", "from_controller", "refusal", "to_workers"]


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
    if workers and settings.cache_dir is None:
        return (
            f"--rest-sequential under xdist (-n {workers}) needs the response cache: the "
            "controller asks the waves and the workers read the replies from it; run "
            "without --rest-no-cache, or without -n"
        )
    return None


def to_workers(run: RestRun) -> str:
    """The controller's decision as JSON, for the xdist workers (``from_controller``)."""
    decision = run.sequential
    return json.dumps(
        {
            "decision": None if decision is None else dataclasses.asdict(decision),
            "not_needed": sorted(run.not_needed),
        }
    )


def from_controller(run: RestRun, payload: str) -> None:
    """Take the controller's decision (``to_workers``) on a worker: the same cases skipped."""
    data = json.loads(payload)
    if data["decision"] is not None:
        decision = data["decision"]
        run.sequential = SequentialDecision(**{**decision, "asked": tuple(decision["asked"])})
    run.not_needed = frozenset(data["not_needed"])


def asking_order(run: RestRun, cases: list[Case], seed: int) -> list[Case]:
    """The cross-modal cases in the seeded interleaved order, those whose replies are all
    stored (free) first, each group in that order. Which replies are stored does not
    depend on this run's answers, so the order does not either (the sequence needs that)."""
    by_key = {case_key(item.id): (item, rendering) for item, rendering in cases}
    order = [by_key[k] for k in interleaved_order({k: c[0].task for k, c in by_key.items()}, seed)]
    stored = [run.stored(*case) for case in order]
    return [c for c, s in zip(order, stored, strict=True) if s] + [
        c for c, s in zip(order, stored, strict=True) if not s
    ]


def decide(
    run: RestRun, cases: list[Case] | None = None, progress: Progress | None = None
) -> SequentialDecision | None:
    """Run the sequential gate over ``cases`` (by default the run's planned cross-modal
    cases; an xdist controller, which plans nothing, passes every item of the
    configuration) and keep the decision on the run (``run.sequential``,
    ``run.not_needed``). None when there is nothing to decide on."""
    baseline = run.baseline
    if cases is None:
        cases = run.planned()
    cases = [case for case in cases if case[1] == "default"]
    if baseline is None or not cases:
        return None
    ordered = asking_order(run, cases, run.settings.seed)

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

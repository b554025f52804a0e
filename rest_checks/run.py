"""One REST run: the object the pytest plugin holds, composing the run's phases.

The plugin makes one ``RestRun`` per process and forwards its hooks here:

- the items (``items``, ``check_baseline``, ``header_lines``), loaded once and, under
  xdist, sent from the controller to the workers (``items_payload``, ``use_items``);
- planning and asking ahead: ``plan(cases)`` after collection, ``prefetch(share)`` before
  the first test and ``ask_ahead(case)`` before each test of a run asked in windows;
- running a case (``rest_checks.case_runner.CaseRunner``): the tests call
  ``cross_modal``, ``invariance_case`` around ``check_rendering``, and ``conclude``; the
  sequential gate ``read_case``; each finished case lands in ``records``;
- ``payload()`` on an xdist worker and ``merge(payload)`` on the controller;
- the output files (``rest_checks.run_outputs.RunOutputs``): ``check_outputs`` before
  any model call and ``start`` before any test on the controller;
- finishing (``rest_checks.run_finish.RunFinisher``): ``case_properties`` after each
  test, and ``finish(...)`` on the controller: the gate, the results JSON, the baseline
  and the reports, as an ``Outcome``.

Nothing here imports pytest, so the whole flow is unit-tested without it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rest_checks.baselines import Baseline, BaselineMismatch, check_compatible, run_signature
from rest_checks.cache import ModelCalls, ResponseCache
from rest_checks.case_requests import case_requests, with_budget
from rest_checks.case_runner import CaseRunner
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.items.files import LoadResult
from rest_checks.items.suites import load_suite
from rest_checks.models.base import Model, ModelError, ModelUnusableError
from rest_checks.parity import PARITY_LADDER
from rest_checks.progress import Progress
from rest_checks.prompts import Request, text_request
from rest_checks.records import CaseRecord, case_fingerprint, case_key, planned_case_key
from rest_checks.render.specs import DEFAULT_SPEC, REST_PLUS_GRID, RenderSpec
from rest_checks.run_finish import Outcome, RunFinisher
from rest_checks.run_outputs import RunOutputs
from rest_checks.sequential import SequentialDecision

# A case: an item and the name of its rendering ("default", a REST+ grid name), or None
# for the Hypothesis check, which needs only the text answer ahead.
Case = tuple[Item, str | None]

# Cases asked at a time when a run may stop early (-x, --maxfail): enough to keep a
# server's parallel slots busy, few enough that a stopped run asked little it never used.
ASK_AHEAD_WINDOW = 16


def plus_items(items: Sequence[Item], per_task: int) -> list[Item]:
    """The first ``per_task`` items of each task source: the ones REST+ perturbs."""
    if per_task <= 0:
        return list(items)
    seen: dict[str, int] = {}
    chosen = []
    for item in items:
        if seen.get(item.task, 0) < per_task:
            seen[item.task] = seen.get(item.task, 0) + 1
            chosen.append(item)
    return chosen


# Cases asked ahead together: enough for the model's concurrency to stay busy across the
# seams between batches, few enough that their requests take little memory.
ASK_BATCH_CASES = 1000


def _key_of(item: Item, rendering: str | None) -> str:
    """The case key of a planned case (rendering None: the Hypothesis check)."""
    return planned_case_key(item.id, rendering)


def plus_renderings(settings: RestSettings) -> dict[str, RenderSpec]:
    """The renderings each REST+ item is drawn in: the grid, and the parity ladder with
    ``--rest-parity``."""
    return {**REST_PLUS_GRID, **(PARITY_LADDER if settings.parity else {})}


class RestRun:
    """The run's state and its phases: the items, planning and asking ahead, running the
    cases (``CaseRunner``) and finishing (``RunFinisher``)."""

    def __init__(
        self,
        settings: RestSettings,
        model: Model,
        *,
        baseline: Baseline | None = None,
        baseline_explicit: bool = False,
        image_dir: Path | None = None,
        hypothesis_profile: str = "",
        with_ocr: bool = True,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        # The model's prices per million tokens (models file), for the run's cost.
        self.prices = dict(prices or {})
        cache = ResponseCache(settings.cache_dir) if settings.cache_dir else None
        self.calls = ModelCalls(model, cache)
        # The answer budget changes answers (cut or not), so it belongs to the identity.
        self.identity = self.calls.identity
        if settings.max_tokens is not None:
            self.identity = {**self.identity, "max_tokens": settings.max_tokens}
        self.baseline = baseline
        self.baseline_explicit = baseline_explicit
        self.image_dir = image_dir or settings.rootdir / ".rest-images"
        self.hypothesis_profile = hypothesis_profile
        self.with_ocr = with_ocr
        self.records: list[CaseRecord] = []
        # Calls counted by xdist workers, merged on the controller.
        self.model_calls = 0
        self.cache_hits = 0
        # What each item file or directory gave: layout, items kept and dropped.
        self.item_loads: list[LoadResult] = []
        self._items: list[Item] | None = None
        self._planned: list[Case] = []
        self._prefetched = False
        # Asking ahead in windows: the window size, this process's share, what was asked.
        self._window: int | None = None
        self._share: tuple[int, int] = (0, 1)
        self._asked: set[tuple[str, str | None]] = set()
        self._position: dict[tuple[str, str | None], int] = {}
        # Case keys each process planned (under xdist, every worker's, merged here).
        self._planned_keys: set[str] = set()
        # The sequential gate's decision (--rest-sequential), and the case keys it did not
        # need: they are not asked, their tests are skipped, the run is not partial for them.
        self.sequential: SequentialDecision | None = None
        self.not_needed: frozenset[str] = frozenset()
        # The phases that run a case and finish the run (both read ``records``), and the
        # files the run writes.
        self.cases = CaseRunner(
            settings,
            self.calls,
            baseline=baseline,
            image_dir=self.image_dir,
            with_ocr=with_ocr,
            records=self.records,
        )
        self.files = RunOutputs(settings, cache)
        self.finisher = RunFinisher(self, self.files)

    # --- items ----------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """The run's items, loaded from the suite's sources on first need."""
        if self._items is None:
            s = self.settings
            self._items = load_suite(s.suite_sources(), s.n, s.seed, self.item_loads, s.layout)
        return self._items

    def items_payload(self) -> str:
        """The items as JSON: generated once on the xdist controller, sent to the workers."""
        return json.dumps([asdict(item) for item in self.items()])

    def use_items(self, payload: str) -> None:
        """Take the items of :meth:`items_payload` instead of generating them again."""
        self._items = [
            Item(**{**row, "options": tuple(row["options"])}) for row in json.loads(payload)
        ]

    def plus_items(self) -> list[Item]:
        """The items REST+ draws in its renderings (``--rest-plus-n`` per task)."""
        return plus_items(self.items(), self.settings.plus_n)

    def signature(self) -> dict[str, Any]:
        """What the run's cases depend on besides the model (see ``baselines``)."""
        return run_signature(self.settings, self.hypothesis_profile)

    def fingerprints(self) -> dict[str, str]:
        """Every case this configuration can run, by key, with its content fingerprint."""
        prints = {case_key(i.id): case_fingerprint(i, DEFAULT_SPEC) for i in self.items()}
        if self.settings.plus:
            for item in self.plus_items():
                for name, spec in plus_renderings(self.settings).items():
                    prints[case_key(item.id, name)] = case_fingerprint(item, spec)
                prints[case_key(item.id, "invariance")] = case_fingerprint(item, None)
        return prints

    def check_baseline(self) -> None:
        """Refuse a baseline of other items, settings or model before any model call.

        Raises ``BaselineMismatch`` saying what differs and the ways out.
        """
        if self.baseline is None or self.settings.update_baseline:
            return
        check_compatible(
            self.baseline,
            signature=self.signature(),
            fingerprints=self.fingerprints(),
            identity=self.identity,
            model=self.settings.model,
            explicit=self.baseline_explicit,
        )

    def header_lines(self) -> list[str]:
        """The run's header: settings, model identity, item sources, baseline."""
        s = self.settings
        lines = [
            f"{s.header()} items={len(self.items())}",
            f"rest-checks: model identity {json.dumps(self.identity, sort_keys=True)}",
        ]
        lines.extend(f"rest-checks: items from {load.message}" for load in self.item_loads)
        lines.append(
            f"rest-checks: baseline {s.baseline_path}"
            + ("" if self.baseline else " (none yet: every inconsistency fails)")
            + (" (being rewritten: --snapshot-update)" if s.update_baseline else "")
        )
        if s.sequential:
            lines.append(
                "rest-checks: sequential gate (--rest-sequential): items asked in waves until "
                "the verdict is certain; the rest are skipped"
            )
        return lines

    # --- asking ahead ---------------------------------------------------------------------

    def plan(self, cases: Sequence[Case]) -> None:
        """Remember the cases this process will run, in test order, without duplicates."""
        seen: dict[tuple[str, str | None], Case] = {}
        for item, rendering in cases:
            seen.setdefault((item.id, rendering), (item, rendering))
        self._planned = list(seen.values())
        self._position = {key: n for n, key in enumerate(seen)}
        self._planned_keys.update(_key_of(item, rendering) for item, rendering in self._planned)
        # A batching model batches by the whole run's order, not by what this process asks.
        self.calls.model.fix_order(self.fixed_order())

    def fixed_order(self) -> list[Request]:
        """Every request of the configured run in the suite's order, whatever ``-k``,
        ``-n`` or the cache leave to ask (``Model.fix_order``)."""
        cases: list[Case] = [(item, "default") for item in self.items()]
        if self.settings.plus:
            names = plus_renderings(self.settings)
            cases += [(item, name) for item in self.plus_items() for name in names]
        return [r for item, rendering in cases for r in self.requests_for(item, rendering)]

    def planned(self) -> list[Case]:
        """The cases this process will run, in test order."""
        return list(self._planned)

    def ask(self, cases: list[Case], progress: Progress | None = None) -> tuple[int, int]:
        """Ask for ``cases`` now (those asked already are not asked again)."""
        return self._ask([c for c in cases if (c[0].id, c[1]) not in self._asked], progress)

    def stored(self, item: Item, rendering: str | None) -> bool:
        """Whether every request of a case has a stored reply (asking it is free)."""
        return self.calls.all_stored(self.requests_for(item, rendering))

    def skip_reason(self, item: Item, rendering: str | None) -> str | None:
        """Why a case is not run: the sequential gate decided without it; else None."""
        if self.sequential is None or _key_of(item, rendering) not in self.not_needed:
            return None
        return self.sequential.reason()

    def requests_for(self, item: Item, rendering: str | None) -> list[Request]:
        """What one case will ask: a rendering's requests, or (``None``) the text one."""
        if rendering is None:
            return [with_budget(text_request(item), self.settings.max_tokens)]
        return list(
            case_requests(item, rendering, self.with_ocr, self.settings.max_tokens).values()
        )

    def prefetch(
        self,
        share: tuple[int, int] | None = None,
        *,
        window: int | None = None,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Ask ahead, once, for the planned cases (of ``share = (index, count)`` only: an
        xdist worker's share; the others find the rest in the shared disk cache). With
        ``window``, only the first ``window`` cases now; ``ask_ahead`` asks the rest as
        the tests get to them.

        Returns (cases, requests) asked. A request that fails for good does not stop the
        run: the cases that need it ask again when they run and fail as model errors. A
        refused key or a model that cannot load (``ModelUnusableError``) propagates: no case
        can succeed.
        """
        if self._prefetched:
            return 0, 0
        self._prefetched = True
        if share is not None and self.calls.cache is None:
            return 0, 0  # without a disk cache workers cannot share answers: each asks as it goes
        self._share = share or (0, 1)
        if window is None:
            return self._ask(self._mine(0, len(self._planned)), progress)
        self._window = max(1, window)
        return self._ask(self._mine(0, self._window * self._share[1]), progress)

    def ask_ahead(self, item: Item, rendering: str | None) -> tuple[int, int]:
        """Before a case runs in a run asked in windows: unless it was asked already, ask
        the next window of this process's cases in test order, starting with it."""
        if self._window is None or (item.id, rendering) in self._asked:
            return 0, 0
        start = self._position.get((item.id, rendering))
        if start is None:
            return 0, 0
        return self._ask(self._mine(start, start + self._window * self._share[1]), None)

    def _mine(self, start: int, stop: int) -> list[Case]:
        """The planned cases in ``[start, stop)`` of this process's share, not asked yet."""
        index, count = self._share
        return [
            (item, rendering)
            for position, (item, rendering) in enumerate(self._planned[start:stop], start)
            if position % count == index
            and (item.id, rendering) not in self._asked
            and _key_of(item, rendering) not in self.not_needed
        ]

    def _ask(self, cases: list[Case], progress: Progress | None) -> tuple[int, int]:
        """Ask for ``cases`` a batch of ``ASK_BATCH_CASES`` at a time, so that a large run
        never holds the requests of all its cases at once."""
        self._asked.update((item.id, rendering) for item, rendering in cases)
        counts = {rendering: self._request_count(rendering) for _, rendering in cases}
        total = sum(counts[rendering] for _, rendering in cases)
        if not total:
            return 0, 0
        if progress is not None:
            progress.expect(total)
        for start in range(0, len(cases), ASK_BATCH_CASES):
            batch = cases[start : start + ASK_BATCH_CASES]
            requests = [r for item, rendering in batch for r in self.requests_for(item, rendering)]
            try:
                self.calls.ensure(requests, progress)
            except ModelUnusableError:
                raise
            except ModelError:
                pass  # each case asks again and fails (or succeeds) on its own
        return len(cases), total

    def _request_count(self, rendering: str | None) -> int:
        """How many requests ``requests_for`` makes for a case of ``rendering``."""
        return 1 if rendering is None else 3 + self.with_ocr

    # --- cases (rest_checks.case_runner) ---------------------------------------------------

    def cross_modal(self, item: Item, rendering: str = "default") -> CaseRecord:
        """Ask in text, image and mixed form (and for the OCR transcription); keep the case."""
        return self.cases.cross_modal(item, rendering)

    def read_case(self, item: Item, rendering: str = "default") -> CaseRecord:
        """One cross-modal case read from the replies, without keeping it."""
        return self.cases.read_case(item, rendering)

    def check_rendering(self, item: Item, spec: RenderSpec, text_answer: str | None) -> None:
        """One example of the Hypothesis render-invariance check."""
        self.cases.check_rendering(item, spec, text_answer)

    def invariance_case(self, item: Item) -> contextlib.AbstractContextManager[str | None]:
        """The Hypothesis check of an item around its text answer."""
        return self.cases.invariance_case(item)

    def conclude(self, record: CaseRecord) -> None:
        """Pass, fail with the full story, or xfail when the baseline had it inconsistent."""
        self.cases.conclude(record)

    # --- workers and the controller -------------------------------------------------------

    def payload(self) -> str:
        """What an xdist worker sends home: its cases and call counts."""
        return json.dumps(
            {
                "records": [r.to_json() for r in self.records],
                "planned": sorted(self._planned_keys),
                "model_calls": self.calls.counter.model_calls,
                "cache_hits": self.calls.counter.cache_hits,
            }
        )

    def merge(self, payload: str) -> None:
        """Take in a worker's cases and call counts (on the controller)."""
        data = json.loads(payload)
        self.records.extend(CaseRecord.from_json(r) for r in data["records"])
        self._planned_keys.update(data.get("planned", ()))
        self.model_calls += int(data["model_calls"])
        self.cache_hits += int(data["cache_hits"])

    # --- outputs and finishing (rest_checks.run_outputs, rest_checks.run_finish) ----------

    @property
    def planned_keys(self) -> set[str]:
        """Case keys each process planned (under xdist, every worker's, merged here)."""
        return self._planned_keys

    def check_outputs(self) -> None:
        """Raise ``OutputError`` before any model call if an output cannot be written."""
        self.files.check_outputs()

    def start(self) -> None:
        """Before any test on the controller: clear the outputs this run replaces."""
        self.files.start()

    def finish(
        self,
        interrupted: bool = False,
        stopped: bool = False,
        step_summary: Path | None = None,
        artifact_url: str | None = None,
    ) -> Outcome:
        """The gate, the results JSON, the reports and the baseline (``RunFinisher.finish``)."""
        return self.finisher.finish(interrupted, stopped, step_summary, artifact_url)

    def case_properties(self, key: str) -> list[tuple[str, str]]:
        """What a JUnit report records of a finished case (nothing if not finished here)."""
        return self.finisher.case_properties(key)

    def close(self) -> None:
        self.calls.close()


__all__ = ["BaselineMismatch", "Case", "Outcome", "RestRun", "plus_items"]

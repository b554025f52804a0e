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

import atexit
import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rest_checks.asking_ahead import AskingAhead
from rest_checks.baselines import Baseline, BaselineMismatch, check_compatible, run_signature
from rest_checks.case_requests import Case, plus_renderings
from rest_checks.case_runner import CaseRunner
from rest_checks.config import RestSettings
from rest_checks.items.base import Item
from rest_checks.items.files import LoadResult
from rest_checks.items.suites import load_suite
from rest_checks.model_gateway import CallCounter, ModelCalls
from rest_checks.models.base import Model
from rest_checks.peer_asking import PeerAsking
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.records import CaseRecord, case_fingerprint, case_key, planned_case_key
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec
from rest_checks.response_store import ResponseCache
from rest_checks.run_finish import Outcome, RunFinisher
from rest_checks.run_outputs import RunOutputs
from rest_checks.sequential import SequentialDecision


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


# Long by its pass-throughs: the one object the plugin holds forwards each hook in a line
# or two to the part that does the work (AskingAhead, CaseRunner, RunOutputs, RunFinisher).
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
        # This run's mark on the replies it stores (the controller's, under xdist).
        self.calls.join_run(uuid.uuid4().hex)
        self.asking = AskingAhead(self.calls, settings, with_ocr, self._run_cases)
        # The folder of an xdist run (made on the controller, removed at its end): the
        # workers' marks of their asking and, without a disk cache, their replies.
        self._run_folder: Path | None = None
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
        # What each item file or directory gave: layout, items kept and dropped.
        self.item_loads: list[LoadResult] = []
        self._items: list[Item] | None = None
        # Case keys each process planned (under xdist, every worker's, merged here).
        self._planned_keys: set[str] = set()
        # The sequential gate's decision (--rest-sequential), and the case keys it did not
        # need: they are not asked, their tests are skipped, the run is not partial for them.
        self.sequential: SequentialDecision | None = None
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

    # --- asking ahead (``rest_checks.asking_ahead``) ---------------------------------------

    @property
    def not_needed(self) -> frozenset[str]:
        """The case keys the sequential gate decided without: not asked, their tests
        skipped, the run not partial for them."""
        return self.asking.not_needed

    @not_needed.setter
    def not_needed(self, keys: frozenset[str]) -> None:
        self.asking.not_needed = frozenset(keys)

    def _run_cases(self) -> list[Case]:
        """Every case of the configured run in the suite's order (the Hypothesis checks
        ask as they go, so they are not among them)."""
        cases: list[Case] = [(item, "default") for item in self.items()]
        if self.settings.plus:
            names = plus_renderings(self.settings)
            cases += [(item, name) for item in self.plus_items() for name in names]
        return cases

    def plan(self, cases: Sequence[Case]) -> None:
        """Remember the cases this process will run, in test order (``AskingAhead.plan``)."""
        self._planned_keys.update(self.asking.plan(cases))

    def planned(self) -> list[Case]:
        return self.asking.planned()

    def requests_for(self, item: Item, rendering: str | None) -> list[Request]:
        return self.asking.requests_for(item, rendering)

    def stored(self, item: Item, rendering: str | None) -> bool:
        return self.asking.stored(item, rendering)

    def ask(self, cases: list[Case], progress: Progress | None = None) -> tuple[int, int]:
        return self.asking.ask(cases, progress)

    def prefetch(
        self,
        share: tuple[int, int] | None = None,
        *,
        window: int | None = None,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        return self.asking.prefetch(share, window=window, progress=progress)

    def ask_ahead(self, item: Item, rendering: str | None) -> tuple[int, int]:
        return self.asking.ask_ahead(item, rendering)

    def skip_reason(self, item: Item, rendering: str | None) -> str | None:
        """Why a case is not run: the sequential gate decided without it; else None."""
        if self.sequential is None or planned_case_key(item.id, rendering) not in self.not_needed:
            return None
        return self.sequential.reason()

    def run_folder(self) -> str:
        """On the xdist controller: a folder, new for this run, through which its workers
        tell each other how far their asking got and, without a disk cache, share their
        replies."""
        if self._run_folder is None:
            self._run_folder = Path(tempfile.mkdtemp(prefix="rest-checks-run-"))
            # Removed by ``close``, or at exit by a run that stopped before it closed (a
            # usage error while its workers start); only a killed run leaves it.
            atexit.register(shutil.rmtree, self._run_folder, ignore_errors=True)
        return str(self._run_folder)

    def use_run_id(self, run_id: str | None) -> None:
        """On an xdist worker: mark replies with the controller's run, whose other
        workers store theirs in the same cache."""
        if run_id is not None:
            self.calls.join_run(run_id, peers=True)

    def use_run_folder(self, folder: str | None, worker: int, workers: int) -> None:
        """On an xdist worker: mark its asking in the run's folder and wait for the other
        workers' (``PeerAsking``); keep replies there too where there is no disk cache."""
        if folder is None:
            return
        self.asking.use_peers(PeerAsking(Path(folder), worker, workers))
        if self.calls.cache is None:
            self.calls.share_through(ResponseCache(Path(folder) / "replies"))

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
                "calls": self.calls.counter.to_json(),
            }
        )

    def merge(self, payload: str) -> None:
        """Take in a worker's cases and call counts (on the controller)."""
        data = json.loads(payload)
        self.records.extend(CaseRecord.from_json(r) for r in data["records"])
        self._planned_keys.update(data.get("planned", ()))
        self.calls.counter.add(CallCounter.from_json(data["calls"]))

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
        if self._run_folder is not None:  # the workers are done with it
            shutil.rmtree(self._run_folder, ignore_errors=True)


__all__ = ["BaselineMismatch", "Case", "Outcome", "RestRun", "plus_items"]

"""The run object without pytest: plan, ask ahead, cases, merge, finish, and the gate's
trust rules (foreign baselines refused, errors counted, inconclusive when blind)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks import asking_ahead
from rest_checks.baselines import BaselineMismatch, load_baseline
from rest_checks.config import RestSettings
from rest_checks.models.base import Model, ModelError, ReplySink, Response
from rest_checks.models.mock import MockModel
from rest_checks.progress import Progress
from rest_checks.prompts import Request
from rest_checks.run import RestRun


def settings(tmp_path: Path, **values: Any) -> RestSettings:
    base: dict[str, Any] = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith", "soebench"),
        "rest_n": 3,
        "rest_no_cache": True,
        "rest_json": "results.json",
    }
    base.update(values)
    update = bool(base.pop("update", False))
    return RestSettings.from_values(base, tmp_path, update_baseline=update)


class CountingModel(Model):
    """The oracle, counting requests; fails for good on the image request of ``broken``."""

    def __init__(self, behaviour: str = "oracle", broken: str | None = None) -> None:
        self.inner = MockModel(behaviour)
        self.spec = self.inner.spec
        self.broken = broken
        self.requests: list[Request] = []

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        self.requests.extend(requests)
        if any(r.item_id == self.broken and r.modality == "image" for r in requests):
            raise ModelError(f"HTTP 500 for {self.broken}, every attempt")
        return self.inner.generate(requests)


def full_run(run: RestRun) -> None:
    run.plan([(item, "default") for item in run.items()])
    run.prefetch()
    for item in run.items():
        run.cross_modal(item)


def test_asks_ahead_once_then_serves_every_case_from_memory(tmp_path: Path) -> None:
    model = CountingModel()
    run = RestRun(settings(tmp_path), model)
    run.plan([(item, "default") for item in run.items()] * 2)  # duplicates planned once
    cases, asked = run.prefetch()
    assert (cases, asked) == (6, 24)
    assert run.prefetch() == (0, 0)  # once per run
    before = len(model.requests)
    for item in run.items():
        assert run.cross_modal(item).consistent
    assert len(model.requests) == before  # nothing asked twice
    assert run.calls.counter.model_calls == len({(r.prompt, r.image_png) for r in model.requests})


def test_a_large_run_asks_ahead_a_batch_of_cases_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asking_ahead, "ASK_BATCH_CASES", 2)
    batches: list[int] = []

    class BatchCounting(CountingModel):
        def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
            batches.append(len(requests))
            super().stream(requests, sink)

    model = BatchCounting()
    run = RestRun(settings(tmp_path, rest_no_cache=False, rest_cache="cache"), model)
    cases = [(item, rendering) for item in run.items() for rendering in ("default", None)]
    run.plan(cases)
    progress = Progress()
    assert run.prefetch(progress=progress) == (12, 30)
    # Two cases a batch: an item's image case (4 requests) and its text case (1, the same
    # text request, merged), so each batch sends 4 calls and no batch more.
    assert batches == [4] * 6
    assert (progress.total, progress.done, progress.disk) == (24, 24, 0)
    before = len(model.requests)
    for item in run.items():
        assert run.cross_modal(item).consistent
    assert len(model.requests) == before  # every case is served by what was asked ahead


def test_a_run_that_may_stop_early_asks_ahead_in_windows_in_test_order(tmp_path: Path) -> None:
    model = CountingModel()
    run = RestRun(settings(tmp_path), model)
    items = run.items()
    run.plan([(item, "default") for item in items])
    assert run.prefetch(window=2) == (2, 8)
    assert {r.item_id for r in model.requests} == {items[0].id, items[1].id}
    assert run.ask_ahead(items[1], "default") == (0, 0)  # asked already
    # A case not asked yet: the next window, starting with it.
    assert run.ask_ahead(items[3], "default") == (2, 8)
    assert {r.item_id for r in model.requests[8:]} == {items[3].id, items[4].id}
    assert run.ask_ahead(items[2], "default") == (1, 4)  # only what is still unasked
    before = len(model.requests)
    for item in items[:5]:
        assert run.cross_modal(item).consistent
    assert len(model.requests) == before  # the windows served every case asked


def test_a_worker_asks_its_own_share_in_windows(tmp_path: Path) -> None:
    model = CountingModel()
    run = RestRun(settings(tmp_path, rest_no_cache=False, rest_cache="cache"), model)
    items = run.items()
    run.plan([(item, "default") for item in items])
    # Worker 1 of 2, windows of 2 of its cases: positions 1 and 3 of the plan.
    assert run.prefetch((1, 2), window=2) == (2, 8)
    assert {r.item_id for r in model.requests} == {items[1].id, items[3].id}
    assert run.ask_ahead(items[4], "default") == (1, 4)  # position 5; 4 is worker 0's
    assert {r.item_id for r in model.requests[8:]} == {items[5].id}


def test_finish_writes_results_and_a_baseline_that_the_next_run_accepts(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, update=True), CountingModel())
    full_run(run)
    outcome = run.finish()
    assert not outcome.failed
    assert any("baseline written" in line for line in outcome.lines)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["n_items"] == 6 and results["errors"] == []
    baseline = load_baseline(tmp_path / "baselines" / "mock_oracle.json")
    assert baseline is not None and len(baseline.cases) == 6
    assert all(len(print_) == 16 for print_ in baseline.fingerprints.values())
    again = RestRun(settings(tmp_path), CountingModel(), baseline=baseline)
    again.check_baseline()  # same items, seed and model: accepted


def test_a_baseline_of_another_seed_is_refused_before_any_model_call(tmp_path: Path) -> None:
    first = RestRun(settings(tmp_path, update=True), CountingModel())
    full_run(first)
    first.finish()
    baseline = load_baseline(tmp_path / "baselines" / "mock_oracle.json")
    model = CountingModel()
    other = RestRun(settings(tmp_path, rest_seed=1), model, baseline=baseline)
    with pytest.raises(BaselineMismatch) as refused:
        other.check_baseline()
    message = str(refused.value)
    assert "seed: 1 here, 0 in the baseline" in message
    assert "other content than the baseline's cases" in message
    assert "--snapshot-update" in message and "--rest-seed 0" in message
    assert model.requests == []


def test_another_models_baseline_is_used_only_when_named(tmp_path: Path) -> None:
    first = RestRun(
        settings(tmp_path, update=True, rest_model="mock:text-only"), CountingModel("text-only")
    )
    full_run(first)
    first.finish()
    path = tmp_path / "baselines" / "mock_text-only.json"
    baseline = load_baseline(path)
    refused = RestRun(settings(tmp_path), CountingModel(), baseline=baseline)
    with pytest.raises(BaselineMismatch, match="written by model 'mock:text-only'"):
        refused.check_baseline()
    named = RestRun(
        settings(tmp_path, rest_baseline=str(path)),
        CountingModel(),
        baseline=baseline,
        baseline_explicit=True,
    )
    named.check_baseline()
    full_run(named)
    lines = named.finish().lines
    # The verdict's first line names whose baseline it is and how the identities differ.
    assert lines[0].startswith("baseline gate PASSED against the baseline of mock:text-only")
    assert "identity differs: name oracle here, text-only in the baseline" in lines[0]
    assert any("gained 6" in line and "arith-0001" in line for line in lines)


def test_an_item_that_errored_is_listed_kept_out_of_rer_and_fails_the_run(
    tmp_path: Path,
) -> None:
    model = CountingModel(broken="arith-0002")
    run = RestRun(settings(tmp_path, update=True), model)
    full_run(run)
    errored = [r for r in run.records if r.error is not None]
    assert [r.item_id for r in errored] == ["arith-0002"]
    outcome = run.finish()
    assert outcome.failed
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["n_items"] == 5  # the RER denominator
    assert results["metrics"]["counts"]["rer"] == [5, 5]
    assert [
        {k: e[k] for k in ("id", "key", "task", "modality", "message")} for e in results["errors"]
    ] == [
        {
            "id": "arith-0002",
            "key": "arith-0002",
            "task": "arith",
            "modality": "image",
            "message": "HTTP 500 for arith-0002, every attempt",
        }
    ]
    assert any("baseline NOT written" in line for line in outcome.lines)
    assert not (tmp_path / "baselines" / "mock_oracle.json").exists()
    assert outcome.lines[0].startswith("ERRORS: 1 case(s) got no reply")


def test_errors_within_the_allowance_do_not_fail_the_run(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, rest_allow_errors=1), CountingModel(broken="arith-0002"))
    full_run(run)
    assert not run.finish().failed


def test_a_worker_payload_merges_into_the_controller(tmp_path: Path) -> None:
    worker = RestRun(settings(tmp_path), CountingModel())
    full_run(worker)
    controller = RestRun(settings(tmp_path), CountingModel())
    controller.merge(worker.payload())
    assert [r.to_json() for r in controller.records] == [r.to_json() for r in worker.records]
    assert controller.calls.counter == worker.calls.counter


def test_a_small_run_is_inconclusive_never_passed(tmp_path: Path) -> None:
    first = RestRun(settings(tmp_path, update=True), CountingModel())
    full_run(first)
    first.finish()
    baseline = load_baseline(tmp_path / "baselines" / "mock_oracle.json")
    run = RestRun(settings(tmp_path), CountingModel(), baseline=baseline)
    full_run(run)
    outcome = run.finish()
    assert not outcome.failed  # an exploratory run is not failed for being small
    assert outcome.lines[0].startswith("baseline gate INCONCLUSIVE")
    assert "RER may have dropped by up to" in outcome.lines[0]
    assert "to decide:" in outcome.lines[1]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["baseline"]["gate"]["verdict"] == "inconclusive"
    strict = RestRun(
        settings(tmp_path, rest_fail_inconclusive=True), CountingModel(), baseline=baseline
    )
    full_run(strict)
    assert strict.finish().failed


def test_update_over_a_foreign_baseline_keeps_none_of_its_cases(tmp_path: Path) -> None:
    first = RestRun(settings(tmp_path, update=True, rest_seed=7), CountingModel())
    full_run(first)
    first.finish()
    path = tmp_path / "baselines" / "mock_oracle.json"
    foreign = load_baseline(path)
    assert foreign is not None
    run = RestRun(
        settings(tmp_path, update=True, rest_suite=("arith",)), CountingModel(), baseline=foreign
    )
    full_run(run)
    run.finish()
    rewritten = load_baseline(path)
    assert rewritten is not None
    assert sorted(rewritten.cases) == ["arith-0001", "arith-0002", "arith-0003"]
    assert rewritten.signature["seed"] == 0


def test_item_files_are_named_with_their_layout_in_header_summary_and_results(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "virology_test.csv").write_text(
        'Q one?,a,b,c,d,A\n"Area, $\\pi r^2$?",a,b,c,d,A\nQ two?,a,b,c,d,B\n', encoding="utf-8"
    )
    gsm = tmp_path / "gsm.jsonl"
    gsm.write_text(
        json.dumps({"question": "Ann has 3\x02 pens. How many?", "answer": "#### 3"}) + "\n"
    )
    run = RestRun(settings(tmp_path, rest_suite=("test", "gsm.jsonl")), CountingModel())
    header = run.header_lines()
    assert (
        "rest-checks: items from test (mmlu-csv, detected): kept 2 item(s), dropped 1 (latex: 1)"
        in header
    )
    assert (
        "rest-checks: items from gsm.jsonl (gsm8k, detected): kept 1 item(s), dropped 0; "
        "removed 1 control character(s)" in header
    )
    full_run(run)
    outcome = run.finish()
    assert "  items from test (mmlu-csv): kept 2, dropped 1 (latex: 1)" in outcome.lines
    assert (
        "  items from gsm.jsonl (gsm8k): kept 1, dropped 0; 1 control character(s) removed"
        in outcome.lines
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(s["layout"], s["kept"], s["dropped"]) for s in results["sources"]] == [
        ("mmlu-csv", 2, {"latex": 1}),
        ("gsm8k", 1, {}),
    ]
    subjects = {item["id"]: item.get("subject") for item in results["items"]}
    assert subjects == {
        "virology_test-0001": "virology",
        "virology_test-0003": "virology",
        "gsm-0001": None,
    }
    assert results["metrics"]["rer"] == 1.0


def test_items_sent_to_a_worker_are_the_items_it_would_generate(tmp_path: Path) -> None:
    controller = RestRun(settings(tmp_path), CountingModel())
    worker = RestRun(settings(tmp_path), CountingModel())
    worker.use_items(controller.items_payload())
    assert worker.items() == RestRun(settings(tmp_path), CountingModel()).items()
    assert [i.source for i in worker.items()] == [i.source for i in controller.items()]

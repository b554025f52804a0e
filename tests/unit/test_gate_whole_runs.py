"""A verdict and a baseline only from whole runs, and a signature that holds everything that
changes an answer or its reading (the run object, without pytest)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_run import CountingModel, full_run, settings

from rest_checks import prompts
from rest_checks.baselines import (
    BASELINE_FORMAT,
    BaselineError,
    BaselineMismatch,
    load_baseline,
)
from rest_checks.fonts import DEFAULT_FONTS_DIR, FONTS_DIR_ENV, clear_font_cache
from rest_checks.models.base import Model, Response
from rest_checks.models.mock import MockModel
from rest_checks.prompts import Request
from rest_checks.render import drawing
from rest_checks.render.specs import RenderSpec
from rest_checks.run import RestRun
from rest_checks.verdicts import ModelGaveNoReply


def _baseline_path(tmp_path: Path) -> Path:
    return tmp_path / "baselines" / "mock_oracle.json"


def _write_baseline(tmp_path: Path, **values: Any) -> Path:
    first = RestRun(settings(tmp_path, update=True, **values), CountingModel())
    full_run(first)
    outcome = first.finish()
    assert not outcome.failed, outcome.lines
    return _baseline_path(tmp_path)


# --- no baseline from part of a run ----------------------------------------------------------


def test_a_stopped_run_writes_no_baseline_and_fails(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, update=True), CountingModel())
    run.plan([(item, "default") for item in run.items()])
    for item in run.items()[:2]:
        run.cross_modal(item)
    outcome = run.finish(stopped=True)
    assert outcome.failed
    assert any("baseline NOT written" in line and "stopped" in line for line in outcome.lines)
    assert not _baseline_path(tmp_path).exists()
    assert json.loads((tmp_path / "results.json").read_text())["complete"] is False


def test_a_run_of_some_cases_writes_no_baseline(tmp_path: Path) -> None:
    # -k, -m or --lf: the run planned and finished only some of the configuration's cases.
    run = RestRun(settings(tmp_path, update=True), CountingModel())
    chosen = run.items()[:2]
    run.plan([(item, "default") for item in chosen])
    for item in chosen:
        run.cross_modal(item)
    outcome = run.finish()
    assert outcome.failed
    line = next(line for line in outcome.lines if "baseline NOT written" in line)
    assert "4 of the 6 cases of this configuration did not run" in line
    assert not _baseline_path(tmp_path).exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["complete"] is False and len(results["coverage"]["not_run"]) == 4


def test_a_run_with_an_error_writes_no_baseline(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, update=True), CountingModel(broken="arith-0002"))
    full_run(run)
    outcome = run.finish()
    assert outcome.failed and not _baseline_path(tmp_path).exists()
    assert any("got no reply" in line and "NOT written" in line for line in outcome.lines)


def test_cases_that_never_came_home_are_errors(tmp_path: Path) -> None:
    """An xdist controller gets each worker's planned cases and finished records; a worker
    that died sent nothing, so its finished cases never arrive."""
    worker = RestRun(settings(tmp_path), CountingModel())
    full_run(worker)
    payload = json.loads(worker.payload())
    payload["records"] = payload["records"][:4]  # two cases were on the lost worker
    controller = RestRun(settings(tmp_path, update=True), CountingModel())
    controller.merge(json.dumps(payload))
    outcome = controller.finish()
    assert outcome.failed and not _baseline_path(tmp_path).exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["complete"] is False
    lost = sorted(e["key"] for e in results["errors"])
    assert lost == sorted(r["key"] for r in json.loads(worker.payload())["records"][4:])
    assert all("never finished" in e["message"] for e in results["errors"])
    assert outcome.lines[0].startswith("ERRORS: 2 case(s)")


def test_a_whole_run_says_so(tmp_path: Path) -> None:
    _write_baseline(tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["complete"] is True
    assert results["coverage"] == {
        "complete": True,
        "ended_early": False,
        "cases": 6,
        "answered": 6,
        "errors": 0,
        "not_run": [],
        "not_needed": 0,
    }
    assert json.loads(_baseline_path(tmp_path).read_text())["format"] == BASELINE_FORMAT


# --- a partial run is at best inconclusive ---------------------------------------------------


def test_a_run_of_part_of_the_baseline_is_inconclusive(tmp_path: Path) -> None:
    path = _write_baseline(tmp_path, rest_n=150, rest_suite=("arith",))
    baseline = load_baseline(path)
    run = RestRun(
        settings(tmp_path, rest_n=150, rest_suite=("arith",)), CountingModel(), baseline=baseline
    )
    chosen = run.items()[:100]
    run.plan([(item, "default") for item in chosen])
    for item in chosen:
        run.cross_modal(item)
    outcome = run.finish()
    assert not outcome.failed
    first = outcome.lines[1]  # after the line that says what did not run
    assert outcome.lines[0].startswith("NOT RUN: 50 of the 150 cases")
    assert first.startswith("baseline gate INCONCLUSIVE (not a pass; partial: 100 of 150")
    gate = json.loads((tmp_path / "results.json").read_text())["baseline"]["gate"]
    assert gate["verdict"] == "inconclusive" and gate["coverage"]["partial"] is True
    assert gate["coverage"]["judged_items"] == 100 and len(gate["coverage"]["not_run"]) == 50
    strict = RestRun(
        settings(tmp_path, rest_n=150, rest_suite=("arith",), rest_fail_inconclusive=True),
        CountingModel(),
        baseline=baseline,
    )
    strict.plan([(item, "default") for item in chosen])
    for item in chosen:
        strict.cross_modal(item)
    assert strict.finish().failed


def test_fewer_items_than_the_baseline_is_partial(tmp_path: Path) -> None:
    path = _write_baseline(tmp_path, rest_n=5)
    run = RestRun(settings(tmp_path, rest_n=3), CountingModel(), baseline=load_baseline(path))
    run.check_baseline()  # a smaller --rest-n is no mismatch: its items are the first ones
    full_run(run)
    run.finish()
    gate = json.loads((tmp_path / "results.json").read_text())["baseline"]["gate"]
    assert gate["coverage"]["partial"] and gate["coverage"]["judged_items"] == 6


# --- the Hypothesis renderings' failures are errors ------------------------------------------


class FailingRenderings(Model):
    """The oracle, except that every request of a Hypothesis-drawn rendering fails."""

    def __init__(self) -> None:
        self.inner = MockModel("oracle")
        self.spec = self.inner.spec

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        replies = self.inner.generate(requests)
        return [
            Response("", error="HTTP 503, every attempt") if r.rendering == "hypothesis" else reply
            for r, reply in zip(requests, replies, strict=True)
        ]


def test_a_failed_rendering_request_is_an_error_of_its_case(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path), FailingRenderings())
    item = run.items()[0]
    with pytest.raises(ModelGaveNoReply), run.invariance_case(item) as text_answer:
        run.check_rendering(item, RenderSpec(dpi=60), text_answer)
    # Shrinking asks nothing more once one rendering failed for good.
    with pytest.raises(Exception, match="HTTP 503"):
        run.check_rendering(item, RenderSpec(dpi=80), text_answer)
    (record,) = run.records
    assert record.key.endswith("@invariance") and record.error is not None
    run.finish()
    results = json.loads((tmp_path / "results.json").read_text())
    assert [e["key"] for e in results["errors"]] == [record.key]


def test_tolerated_rendering_errors_are_skips(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, rest_allow_errors=1), FailingRenderings())
    item = run.items()[0]
    with pytest.raises(pytest.skip.Exception), run.invariance_case(item) as text_answer:
        run.check_rendering(item, RenderSpec(dpi=60), text_answer)


# --- the signature ---------------------------------------------------------------------------


def _refusal(tmp_path: Path, **values: Any) -> str:
    baseline = load_baseline(_baseline_path(tmp_path))
    run = RestRun(settings(tmp_path, **values), CountingModel(), baseline=baseline)
    with pytest.raises(BaselineMismatch) as refused:
        run.check_baseline()
    return str(refused.value)


def test_another_extraction_mode_is_refused_with_the_way_out(tmp_path: Path) -> None:
    _write_baseline(tmp_path, rest_extract="lenient")
    message = _refusal(tmp_path)
    assert "extract: strict here, lenient in the baseline" in message
    assert "--rest-extract lenient" in message


def test_changed_prompt_texts_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_baseline(tmp_path)
    monkeypatch.setattr(prompts, "IMAGE_TEMPLATE", "Answer the question in the image. {reasoning}")
    assert "prompts:" in _refusal(tmp_path)


def test_another_renderer_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_baseline(tmp_path)
    monkeypatch.setattr(drawing, "RENDERER_VERSION", drawing.RENDERER_VERSION + 1)
    assert "renderer:" in _refusal(tmp_path)


def test_other_answer_budgets_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_baseline(tmp_path)
    monkeypatch.setattr(prompts, "MAX_TOKENS_BY_TASK", {"soebench": 4096})
    assert "answer_budgets:" in _refusal(tmp_path)


def test_another_font_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_baseline(tmp_path)
    fonts = tmp_path / "fonts"
    shutil.copytree(DEFAULT_FONTS_DIR, fonts)
    with (fonts / "DejaVuSans.ttf").open("ab") as handle:
        handle.write(b"\0")
    monkeypatch.setenv(FONTS_DIR_ENV, str(fonts))
    clear_font_cache()
    try:
        message = _refusal(tmp_path)
    finally:
        monkeypatch.delenv(FONTS_DIR_ENV)
        clear_font_cache()
    assert "fonts:" in message and "dejavu-sans" in message


class TunedModel(CountingModel):
    """The oracle with a sampling temperature in its identity."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "temperature": self.temperature}


def test_a_named_baseline_of_another_identity_says_how_it_differs(tmp_path: Path) -> None:
    first = RestRun(settings(tmp_path, update=True), TunedModel(0.0))
    full_run(first)
    first.finish()
    path = _baseline_path(tmp_path)
    implicit = RestRun(settings(tmp_path), TunedModel(0.7), baseline=load_baseline(path))
    with pytest.raises(BaselineMismatch, match=r"temperature 0\.7 here, 0\.0 in the baseline"):
        implicit.check_baseline()
    named = RestRun(
        settings(tmp_path, rest_baseline=str(path)),
        TunedModel(0.7),
        baseline=load_baseline(path, explicit=True),
        baseline_explicit=True,
    )
    named.check_baseline()
    full_run(named)
    first_line = named.finish().lines[0]
    assert first_line.startswith("baseline gate ")
    assert "identity differs: temperature 0.7 here, 0.0 in the baseline" in first_line


def test_a_missing_named_baseline_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(BaselineError, match="no such baseline file"):
        load_baseline(missing, explicit=True)
    assert load_baseline(missing, explicit=True, updating=True) is None
    assert load_baseline(missing) is None


def test_an_older_format_is_rewritten_by_an_update(tmp_path: Path) -> None:
    path = _write_baseline(tmp_path)
    data = json.loads(path.read_text())
    data["format"] = BASELINE_FORMAT - 1
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="write it again with --snapshot-update"):
        load_baseline(path)
    update = settings(tmp_path, update=True)
    run = RestRun(update, CountingModel(), baseline=load_baseline(path, updating=True))
    full_run(run)
    assert not run.finish().failed
    assert json.loads(path.read_text())["format"] == BASELINE_FORMAT


def test_an_update_keeps_nothing_of_the_previous_signature(tmp_path: Path) -> None:
    path = _write_baseline(tmp_path)
    data = json.loads(path.read_text())
    data["signature"]["hypothesis_profile"] = "thorough"  # left from a REST+ baseline
    data["cases"]["gone-0001"] = {"consistent": True, "fingerprint": "0" * 16}
    path.write_text(json.dumps(data))
    update = settings(tmp_path, update=True)
    run = RestRun(update, CountingModel(), baseline=load_baseline(path, updating=True))
    full_run(run)
    assert not run.finish().failed
    written = json.loads(path.read_text())
    assert "hypothesis_profile" not in written["signature"]
    assert "gone-0001" not in written["cases"]
    assert written["signature"]["extract"] == "strict"
    assert written["signature"]["renderer"] == drawing.RENDERER_VERSION


def test_another_answer_budget_option_is_refused_with_the_way_out(tmp_path: Path) -> None:
    _write_baseline(tmp_path, rest_max_tokens=4096)
    message = _refusal(tmp_path)
    assert 'answer_budgets: {"default": 1024, "soebench": 2048} here, {"all": 4096}' in message
    assert "--rest-max-tokens 4096" in message

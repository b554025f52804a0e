"""A small finished run with something of everything a report shows: a baseline gate with
regressions, REST+ renderings, a Hypothesis counterexample, a model error, and a reply that
holds markup. Built with mock models in a few seconds; no browser needed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks.baselines import load_baseline
from rest_checks.config import RestSettings
from rest_checks.models.base import Model, ModelError, Response
from rest_checks.models.mock import MockModel
from rest_checks.prompts import Request
from rest_checks.render.specs import REST_PLUS_GRID, RenderSpec
from rest_checks.run import RestRun
from rest_checks.verdicts import InconsistentAnswers

# Inconsistent now, consistent in the baseline: regressions.
BROKEN = {"arith-0001", "soebench-0002"}
# Inconsistent in the baseline and now: an expected failure, not a regression.
ALREADY = "arith-0003"
# Its image reply carries markup that must be shown as text and never run.
HOSTILE = "arith-0001"
HOSTILE_REPLY = (
    '<script>window.__restInjected = "script"</script>'
    '<img src="x" onerror="window.__restInjected = \'onerror\'"> I read the page.\n'
    "ANSWER: 1000001"
)
# Its image request fails for good: a model error.
FAILING = "arith-0002"
PLUS_RENDERINGS = ("dejavu-sans-50dpi", "dejavu-sans-200dpi", "red-text", "yellow-text")


class Version(Model):
    """The oracle's identity; the old version breaks ``ALREADY``, the new one (an upgrade
    that regressed) breaks ``BROKEN`` as well, fails on ``FAILING`` and answers ``HOSTILE``
    with markup."""

    def __init__(self, new: bool) -> None:
        self.oracle = MockModel("oracle")
        self.new = new
        self.broken = MockModel("text-only", only_items={ALREADY, *(BROKEN if new else ())})
        self.spec = self.oracle.spec

    def identity(self) -> dict[str, Any]:
        return self.oracle.identity()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        if not self.new:
            return self.broken.generate(requests)
        if any(r.item_id == FAILING and r.modality == "image" for r in requests):
            raise ModelError("HTTP 500 on every attempt")
        replies = []
        for request in requests:
            (reply,) = self.broken.generate([request])
            if request.item_id == HOSTILE and request.modality == "image":
                reply = Response(HOSTILE_REPLY)
            replies.append(reply)
        return replies


def _settings(root: Path, **values: Any) -> RestSettings:
    base: dict[str, Any] = {
        "rest_model": "mock:oracle",
        "rest_suite": ("soebench", "arith", "mcq"),
        "rest_n": 3,
        "rest_no_cache": True,
        "rest_json": "results.json",
    }
    base.update(values)
    update = bool(base.pop("update", False))
    return RestSettings.from_values(base, root, update_baseline=update)


def _run_cases(run: RestRun, plus: bool) -> None:
    for item in run.items():
        run.cross_modal(item)
        if plus and item.id.endswith("0001"):
            for rendering in PLUS_RENDERINGS:
                run.cross_modal(item, rendering)


def build_sample_run(root: Path, **settings: Any) -> dict[str, Any]:
    """Write a baseline with the oracle, then run the new version against it under
    ``root``; return the results document (also at ``root/results.json``)."""
    baseline_run = RestRun(_settings(root, update=True), Version(new=False))
    _run_cases(baseline_run, plus=True)
    baseline_run.finish()
    settings_ = _settings(root, **settings)
    run = RestRun(settings_, Version(new=True), baseline=load_baseline(settings_.baseline_path))
    _run_cases(run, plus=True)
    # One Hypothesis counterexample: the broken soebench item at a small, navy rendering.
    item = next(i for i in run.items() if i.id == "soebench-0002")
    with pytest.raises(InconsistentAnswers), run.invariance_case(item) as text_answer:
        run.check_rendering(item, RenderSpec(dpi=41, fg="#000080"), text_answer)
    run.finish()
    return json.loads((root / "results.json").read_text(encoding="utf-8"))


def build_small_run(
    root: Path, model: Model, prices: dict[str, float] | None = None, update: bool = False
) -> Path:
    """A whole run of two arithmetic items under ``root``, and its results file (with
    ``update``, its baseline is at ``root/baselines``)."""
    values = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith",),
        "rest_n": 2,
        "rest_no_cache": True,
        "rest_json": "results.json",
    }
    settings = RestSettings.from_values(values, root, update_baseline=update)
    run = RestRun(settings, model, prices=prices)
    for item in run.items():
        run.cross_modal(item)
    run.finish()
    return root / "results.json"


assert set(PLUS_RENDERINGS) <= set(REST_PLUS_GRID)

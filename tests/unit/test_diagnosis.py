"""The regression diagnosis: a planted loss is found at its levels, a loss spread over
every case is placed nowhere, and a run with nothing lost names nothing."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import pytest
from suite_runs import make_suite, run_suite

from rest_checks.case_requests import rendering_spec
from rest_checks.diagnosis import case_factors, diagnose
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.items.base import Item
from rest_checks.metrics import binomial_upper_tail, holm_levels
from rest_checks.records import CaseRecord, case_key
from rest_checks.render.specs import REST_PLUS_GRID

RENDERINGS = ["default", *REST_PLUS_GRID]


def _items(n: int) -> list[Item]:
    """Items of two tasks and two answer types, with questions of 5 to 5 + n words."""
    return [
        Item(
            id=f"{'arith' if i % 2 else 'mcq'}-{i:04d}",
            task="arith" if i % 2 else "mcq",
            context="",
            question=" ".join(["word"] * (5 + i)),
            expected="B" if i % 2 == 0 else "7",
            answer_type="choice" if i % 2 == 0 else "number",
            options=("a", "b") if i % 2 == 0 else (),
        )
        for i in range(n)
    ]


def _records(items: list[Item]) -> list[CaseRecord]:
    return [
        CaseRecord(
            key=case_key(item.id, None if rendering == "default" else rendering),
            kind="cross_modal" if rendering == "default" else "rest_plus",
            item_id=item.id,
            task=item.task,
            rendering=rendering,
            expected=item.expected,
            answers={},
            raw={},
            consistent=True,
        )
        for item in items
        for rendering in RENDERINGS
    ]


def _runs(lose, n_items: int = 40, churn: float = 0.03, seed: int = 7):
    """Baseline and current consistency of every case, and the cases' factors: each case
    is lost where ``lose(record, rng)`` says, and any case flips either way with
    probability ``churn`` / 2 (a model's noise)."""
    rng = random.Random(seed)
    items = _items(n_items)
    records = _records(items)
    baseline, current = {}, {}
    for record in records:
        before = rng.random() > 0.1
        now = before and not lose(record, rng)
        if rng.random() < churn:
            now = not now
        baseline[record.key], current[record.key] = before, now
    return baseline, current, case_factors(records, items, rendering_spec)


def test_the_factors_of_a_case() -> None:
    items = _items(6)
    factors = case_factors(_records(items), items, rendering_spec)
    assert factors["mcq-0000"] == {
        "task": "mcq",
        "font": "DejaVu Sans",
        "dpi": "200 DPI",
        "colour": "black on white",
        "answer_type": "choice",
        "question_length": "6-9 words",  # 5 words of question, 4 of options
    }
    assert factors["arith-0001@dancing-script-50dpi"]["font"] == "Dancing Script"
    assert factors["arith-0001@dancing-script-50dpi"]["dpi"] == "50 DPI"
    assert factors["mcq-0004@red-text"]["colour"] == "red on white"
    # Terciles of the items' lengths (6, 8, 9, 10, 11, 13), each labelled by its lengths.
    assert {f["question_length"] for f in factors.values()} == {
        "6-9 words",
        "10-11 words",
        "13 words",
    }


def test_a_planted_loss_in_one_font_at_two_dpis_is_found_there() -> None:
    def cursive_small(record: CaseRecord, rng: random.Random) -> bool:
        return record.rendering in ("dancing-script-50dpi", "dancing-script-100dpi")

    baseline, current, factors = _runs(cursive_small)
    found = diagnose(baseline, current, factors, alpha=0.05)
    # Every Dancing Script page is black on white: significant, but not where the loss is.
    assert found.significant()["colour"] == ["black on white"]
    assert found.named() == {"font": ["Dancing Script"], "dpi": ["50 DPI", "100 DPI"]}
    planted = [k for k in factors if "dancing-script-50" in k or "dancing-script-100" in k]
    assert found.where is not None and found.where["n"] == len(planted) == 80
    lost_there = sum(baseline[k] and not current[k] for k in planted)
    assert found.where["lost"] == lost_there > 50
    line = diagnosis_line(found.to_json())
    assert line.startswith(f"the loss is in Dancing Script, at 50 or 100 DPI: lost {lost_there},")


def test_two_separate_losses_are_named_apart() -> None:
    # Cursive at 50 DPI, and every font at 36 DPI: not one crossing of the levels.
    def two_places(record: CaseRecord, rng: random.Random) -> bool:
        return record.rendering in ("dancing-script-50dpi", "parity-dpi36")

    items = _items(40)
    records = _records(items) + [
        CaseRecord(
            key=f"{item.id}@parity-dpi36",
            kind="rest_plus",
            item_id=item.id,
            task=item.task,
            rendering="parity-dpi36",
            expected=item.expected,
            answers={},
            raw={},
            consistent=True,
        )
        for item in items
    ]
    factors = case_factors(records, items, rendering_spec)
    baseline = {key: True for key in factors}
    current = {r.key: not two_places(r, random.Random(0)) for r in records}
    found = diagnose(baseline, current, factors, alpha=0.05)
    assert found.named()["dpi"] == ["36 DPI", "50 DPI"]
    line = diagnosis_line(found.to_json())
    assert line.startswith("the loss is in separate places: ")
    assert "at 36 DPI: lost 40, gained 0 of 40" in line


def test_a_planted_loss_in_one_task_and_answer_type_is_found_there() -> None:
    def arith_half(record: CaseRecord, rng: random.Random) -> bool:
        return record.task == "arith" and rng.random() < 0.5

    found = diagnose(*_runs(arith_half), alpha=0.05)
    # Every arith item has number answers: both are significant, the first is named.
    assert found.significant() == {"task": ["arith"], "answer_type": ["number"]}
    assert found.named() == {"task": ["arith"]}
    assert "the loss is in task arith: lost" in diagnosis_line(found.to_json())


@pytest.mark.parametrize("seed", range(5))
def test_a_loss_spread_over_every_case_is_placed_nowhere(seed: int) -> None:
    def everywhere(record: CaseRecord, rng: random.Random) -> bool:
        return rng.random() < 0.3

    found = diagnose(*_runs(everywhere, seed=seed), alpha=0.05)
    assert found.lost > 100 and found.significant() == {} and found.where is None
    assert diagnosis_line(found.to_json()).startswith("where the loss is: in no one level of")


@pytest.mark.parametrize("seed", range(5))
def test_churn_alone_is_placed_nowhere(seed: int) -> None:
    found = diagnose(*_runs(lambda record, rng: False, churn=0.1, seed=seed), alpha=0.05)
    assert found.lost > 10 and found.significant() == {}


def test_nothing_lost_and_single_level_factors() -> None:
    items = _items(9)
    records = [r for r in _records(items) if r.kind == "cross_modal"]
    factors = case_factors(records, items, rendering_spec)
    same = {key: True for key in factors}
    found = diagnose(same, same, factors, alpha=0.05)
    assert found.single_level == ("font", "dpi", "colour")
    assert found.levels and all(not t.significant for t in found.levels)
    assert diagnosis_line(found.to_json()).startswith("where the loss is: nothing was lost")
    lost = {**same, "mcq-0000": False}
    line = diagnosis_line(diagnose(same, lost, factors, alpha=0.05).to_json())
    assert "font, DPI, colour had one level only (--rest-plus varies" in line


def test_binomial_tail_and_holm() -> None:
    assert binomial_upper_tail(3, 3, Fraction(1, 2)) == 0.125
    assert binomial_upper_tail(0, 5, Fraction(1, 3)) == 1.0
    assert binomial_upper_tail(4, 3, Fraction(1, 3)) == 0.0
    assert binomial_upper_tail(2, 2, Fraction(1)) == 1.0
    # 1 - P(X <= 4) for X ~ Binomial(10, 1/3), summed by hand from the pmf.
    assert binomial_upper_tail(5, 10, Fraction(1, 3)) == pytest.approx(0.2131280800690952)
    for n in range(0, 13):
        for k in range(0, n + 2):
            for share in (Fraction(0), Fraction(1, 7), Fraction(2, 3), Fraction(1)):
                direct = sum(
                    Fraction(math.comb(n, i)) * share**i * (1 - share) ** (n - i)
                    for i in range(k, n + 1)
                )
                assert binomial_upper_tail(k, n, share) == pytest.approx(float(direct), abs=1e-15)
    levels = holm_levels({"a": 0.001, "b": 0.02, "c": 0.04, "d": 0.5}, 0.05)
    assert levels == {"a": 0.0125, "b": 0.05 / 3, "c": None, "d": None}


# A model that reads cursive badly at low resolution: wrong in the image modality on
# Dancing Script pages below 200 DPI, once REST_TEST_PLANT is set.
CURSIVE_BLIND = """
import os

from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model


class CursiveBlind(MockModel):
    def generate(self, requests):
        planted = os.environ.get("REST_TEST_PLANT") == "1"
        blind = [
            planted and r.modality != "text" and r.rendering.startswith("dancing-script")
            and not r.rendering.endswith("-200dpi")
            for r in requests
        ]
        right = MockModel.generate(self, requests)
        wrong = MockModel("text-only").generate(requests)
        return [w if b else a for a, w, b in zip(right, wrong, blind)]


register_model(
    "mock:cursive-blind", lambda options: CursiveBlind("oracle", spec="mock:cursive-blind")
)
"""


@pytest.mark.slow
def test_a_run_names_the_font_it_lost_in(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = make_suite(pytester, CURSIVE_BLIND)
    args = ["--model", "mock:cursive-blind", "--rest-suite", "arith,mcq", "--rest-n", "6"]
    args += ["--rest-plus", "--rest-plus-n", "6", "--rest-json", "results.json", "--rest-no-cache"]
    assert run_suite(suite, *args, "--snapshot-update").ret == 0
    monkeypatch.setenv("REST_TEST_PLANT", "1")
    result = run_suite(suite, *args)
    result.stdout.fnmatch_lines(
        ["*the loss is in Dancing Script, at 50 or 100 DPI: lost 24, gained 0 of the 24 *"]
    )
    results = json.loads((suite.path / "results.json").read_text(encoding="utf-8"))
    diagnosis = results["baseline"]["diagnosis"]
    assert diagnosis["lost"] == 24 and diagnosis["named"]["font"] == ["Dancing Script"]
    assert "task" not in diagnosis["significant"]

"""How a finished case becomes pass, fail or expected failure."""

from __future__ import annotations

from rest_checks.metrics import consistent
from rest_checks.records import CaseRecord
from rest_checks.verdicts import judge


def record(answers: dict[str, str | None], expected: str = "7") -> CaseRecord:
    return CaseRecord(
        key="arith-0001",
        kind="cross_modal",
        item_id="arith-0001",
        task="arith",
        rendering="default",
        expected=expected,
        answers=answers,
        raw={m: f"... ANSWER: {a}" for m, a in answers.items()},
        consistent=consistent(answers),
        detail="DejaVu Sans, 200 DPI, black on white",
    )


SAME_RIGHT: dict[str, str | None] = {"text": "7", "image": "7", "mixed": "7"}
SAME_WRONG: dict[str, str | None] = {"text": "8", "image": "8", "mixed": "8"}
DIFFERENT: dict[str, str | None] = {"text": "7", "image": "1", "mixed": None}


def test_consistent_passes_even_when_wrong() -> None:
    assert judge(record(SAME_WRONG), None).status == "pass"


def test_require_correct_fails_a_consistently_wrong_case() -> None:
    verdict = judge(record(SAME_WRONG), None, require_correct=True)
    assert verdict.status == "fail"
    assert "consistent but wrong in text, image, mixed" in verdict.message
    assert judge(record(SAME_RIGHT), None, require_correct=True).status == "pass"


def test_inconsistent_without_baseline_fails_with_the_whole_story() -> None:
    verdict = judge(record(DIFFERENT), None)
    assert verdict.status == "fail"
    for text in (
        "the final answers differ",
        "expected:  7",
        "image   -> 1",
        "mixed   -> (no answer)",
        "raw image tail: ...... ANSWER: 1",
    ):
        assert text in verdict.message
    assert "REGRESSION" not in verdict.message


def test_inconsistent_now_but_consistent_in_baseline_is_a_regression() -> None:
    verdict = judge(record(DIFFERENT), True)
    assert verdict.status == "fail"
    assert verdict.message.startswith("REGRESSION: arith-0001 was consistent in the baseline")


def test_inconsistent_in_the_baseline_too_is_expected() -> None:
    assert judge(record(DIFFERENT), False).status == "xfail"


def test_while_rewriting_the_baseline_every_failure_is_expected() -> None:
    assert judge(record(DIFFERENT), True, updating=True).status == "xfail"


def test_require_correct_on_an_inconsistent_case_reports_the_difference() -> None:
    # Inconsistent, so the message is about the difference, not correctness.
    verdict = judge(record({"text": "7", "image": "8", "mixed": None}), None, require_correct=True)
    assert verdict.status == "fail"
    assert "the final answers differ" in verdict.message


def test_require_correct_judges_only_the_modalities_asked() -> None:
    # An invariance case asks only in text and image; the absent mixed is not judged.
    case = record({"text": "7", "image": "7"})
    case.consistent = True
    assert judge(case, None, require_correct=True).status == "pass"
    case = record({"text": "8", "image": "8"})
    case.consistent = True
    verdict = judge(case, None, require_correct=True)
    assert "consistent but wrong in text, image" in verdict.message

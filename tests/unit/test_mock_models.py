"""The test doubles users run to check the harness."""

from __future__ import annotations

import pytest

from rest_checks.answers import extract_final_answer
from rest_checks.items.base import Item
from rest_checks.models.mock import MockModel, wrong_answer
from rest_checks.models.registry import resolve
from rest_checks.prompts import build_requests

ITEMS = [
    Item("s-1", "soebench", "A + B = 3\nA - B = 1", "Solve for A and B.", "A=2, B=1", "solution"),
    Item("n-1", "arith", "Ann has 3 apples and buys 4.", "How many now?", "7", "number"),
    Item("c-1", "mcq", "Which is a prime?", "", "C", "choice", ("4", "6", "7", "9")),
]


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.id)
def test_oracle_is_right_everywhere(item: Item) -> None:
    requests = build_requests(item)
    responses = MockModel("oracle").generate(list(requests.values()))
    by_modality = dict(zip(requests, responses, strict=True))
    for modality in ("text", "image", "mixed"):
        assert extract_final_answer(by_modality[modality].text, item.answer_type) == item.expected
    assert by_modality["ocr"].text == item.full_text()


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.id)
def test_text_only_is_right_in_text_and_wrong_but_parseable_elsewhere(item: Item) -> None:
    requests = build_requests(item, with_ocr=False)
    responses = MockModel("text-only").generate(list(requests.values()))
    answers = [extract_final_answer(r.text, item.answer_type) for r in responses]
    assert answers[0] == item.expected
    assert answers[1] == answers[2] == wrong_answer(item) != item.expected


def test_a_partial_mock_breaks_only_the_named_items() -> None:
    model = MockModel("text-only", only_items={"n-1"})
    for item in ITEMS:
        image = build_requests(item)["image"]
        answer = extract_final_answer(model.generate([image])[0].text, item.answer_type)
        assert (answer == item.expected) == (item.id != "n-1")


def test_mocks_resolve_from_their_specs() -> None:
    assert resolve("mock:oracle").backend == "mock"
    assert resolve("mock:text-only").name == "text-only"

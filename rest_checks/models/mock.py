"""Test doubles users can run to check that the harness itself works.

``mock:oracle`` answers every request correctly and transcribes images perfectly.
``mock:text-only`` answers correctly in text and wrongly (but parseably) in image and mixed,
the most inconsistent model there is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from rest_checks.answers import format_answer
from rest_checks.items.base import OPTION_LETTERS, Item
from rest_checks.models.base import Model, ModelError, Response
from rest_checks.prompts import FINAL_ANSWER_PREFIX, Request

MOCK_BEHAVIOURS = ("oracle", "text-only")


def wrong_answer(item: Item) -> str:
    """A canonical answer that is parseable and certainly not the expected one."""
    if item.answer_type == "choice":
        letters = OPTION_LETTERS[: max(len(item.options), 2)]
        return next(letter for letter in letters if letter != item.expected)
    if item.answer_type == "number":
        return "1000001" if item.expected != "1000001" else "1000002"
    # A solution: shift the first variable's value by one.
    first, _, rest = item.expected.partition(",")
    name, _, value = first.partition("=")
    shifted = f"{name.strip()}={_shift(value.strip())}"
    return shifted + ("," + rest if rest else "")


def _shift(value: str) -> str:
    if "/" in value:
        numerator, denominator = value.split("/")
        return f"{int(numerator) + int(denominator)}/{denominator}"
    return str(int(value) + 1)


class MockModel(Model):
    """Answers from the item the request carries; makes no network or model call."""

    def __init__(
        self,
        behaviour: str,
        *,
        spec: str | None = None,
        only_items: Collection[str] | None = None,
    ) -> None:
        """``only_items`` limits a misbehaving mock to those item ids (the rest it answers
        like the oracle), to model a partial regression."""
        if behaviour not in MOCK_BEHAVIOURS:
            raise ModelError(f"unknown mock {behaviour!r}; known: {', '.join(MOCK_BEHAVIOURS)}")
        self.behaviour = behaviour
        self.spec = spec or f"mock:{behaviour}"
        self.only_items = frozenset(only_items) if only_items is not None else None
        self.calls = 0

    def identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {"backend": "mock", "name": self.behaviour}
        if self.only_items is not None:
            identity["only_items"] = sorted(self.only_items)
        return identity

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        self.calls += len(requests)
        return [self._answer(request) for request in requests]

    def _answer(self, request: Request) -> Response:
        item = request.item
        if item is None:
            raise ModelError("the mock models need requests built from an item")
        if request.modality == "ocr":
            return Response(item.full_text())
        misbehaves = self.only_items is None or item.id in self.only_items
        right = self.behaviour == "oracle" or request.modality == "text" or not misbehaves
        answer = item.expected if right else wrong_answer(item)
        text = "Reading the question and working it out.\n"
        return Response(f"{text}{FINAL_ANSWER_PREFIX} {format_answer(answer, item.answer_type)}")

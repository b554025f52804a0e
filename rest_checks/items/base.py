"""The plain record every task source produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AnswerType = Literal["choice", "number", "solution"]
ANSWER_TYPES: tuple[AnswerType, ...] = ("choice", "number", "solution")

OPTION_LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Item:
    """One benchmark question, independent of how it will be shown to a model.

    ``context`` is the part rendered as an image in the *mixed* modality (the equations,
    the story, or a multiple-choice stem); ``question`` and ``options`` stay text there.
    ``expected`` is the canonical answer string (see ``rest_checks.answers``):
    ``"B"`` for a choice, ``"42"`` or ``"-3/2"`` for a number, ``"A=1, B=-2"`` for a
    solution of an equation system.
    """

    id: str
    task: str
    context: str
    question: str
    expected: str
    answer_type: AnswerType
    options: tuple[str, ...] = ()
    # Where the item came from (a file and line, a generator and seed): for error messages.
    source: str = field(default="", compare=False)
    # The subject a file gives (an MMLU file name, a "subject" field): kept in the results.
    subject: str = field(default="", compare=False)

    def options_text(self) -> str:
        """The options as lettered lines, ``"A. ..."``; empty when there are none."""
        return "\n".join(f"{OPTION_LETTERS[i]}. {text}" for i, text in enumerate(self.options))

    def question_text(self) -> str:
        """What stays text in the mixed modality: the question, then the options."""
        return "\n".join(part for part in (self.question, self.options_text()) if part)

    def full_text(self) -> str:
        """The whole content: what the text modality sends and the image modality renders."""
        return "\n\n".join(part for part in (self.context, self.question_text()) if part)

"""What a finished case means for its test: pass, fail (with the message a user reads),
or expected failure because the baseline already had it inconsistent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from rest_checks.metrics import correct
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.records import CaseRecord
from rest_checks.reply_outcomes import answer_label
from rest_checks.terminal_text import printable

TAIL_CHARS = 200


class InconsistentAnswers(AssertionError):
    """The answers differ across modalities or renderings."""


class ModelGaveNoReply(AssertionError):
    """A request of the case failed for good: a model error, not an inconsistency."""


@dataclass(frozen=True)
class Verdict:
    status: Literal["pass", "fail", "xfail", "error", "skip"]
    message: str = ""

    def enforce(self, message: str | None = None) -> None:
        """Turn the verdict into the test's outcome (``message`` overrides its own)."""
        enforce(Verdict(self.status, self.message if message is None else message))


def judge(
    record: CaseRecord,
    baseline_consistent: bool | None,
    *,
    require_correct: bool = False,
    updating: bool = False,
    errors_tolerated: bool = False,
) -> Verdict:
    """Decide a case.

    ``baseline_consistent`` is the baseline's word on this case (None: no baseline or a
    new case). While the baseline is being rewritten, every failure is expected: it is
    what the new baseline records. A case without a reply is an error (a skip when
    ``--rest-allow-errors`` tolerates some; the run counts them at the end).
    """
    if record.error is not None:
        message = (
            f"{record.key}: the model gave no reply to the {record.error_modality or 'case'} "
            f"request: {record.error}"
        )
        return Verdict("skip" if errors_tolerated else "error", printable(message))
    wrong: list[str] = [
        m
        for m in ANSWER_MODALITIES
        if m in record.answers and not correct(record.answers[m], record.expected)
    ]
    ok = record.consistent and not (require_correct and wrong)
    if ok:
        return Verdict("pass")
    message = failure_message(record, baseline_consistent, wrong if require_correct else [])
    if updating:
        return Verdict("xfail", "recorded as inconsistent in the new baseline")
    if baseline_consistent is False:
        return Verdict("xfail", "inconsistent in the baseline too")
    return Verdict("fail", message)


def failure_message(record: CaseRecord, baseline_consistent: bool | None, wrong: list[str]) -> str:
    lines = []
    if baseline_consistent is True:
        lines.append(f"REGRESSION: {record.key} was consistent in the baseline and is not now")
    if record.consistent and wrong:
        lines.append(f"{record.key}: consistent but wrong in {', '.join(wrong)}")
    else:
        lines.append(f"{record.key}: the final answers differ across modalities")
    lines.append(f"  rendering: {record.detail}")
    lines.append(f"  expected:  {record.expected}")
    for modality, answer in record.answers.items():
        label = answer_label(answer, record.rules.get(modality), record.extra.get(modality))
        lines.append(f"  {modality:<6}  -> {label}")
    for modality, raw in record.raw.items():
        if modality == "ocr":
            continue
        tail = raw[-TAIL_CHARS:].replace("\n", " | ")
        lines.append(f"  raw {modality} tail: ...{tail}")
    for modality, path in record.images.items():
        lines.append(f"  {modality} image: {path}")
    # Replies, and item ids and answers from user files, are shown spelled out.
    return printable("\n".join(lines))


def enforce(verdict: Verdict) -> None:
    """Turn a verdict into the test's outcome."""
    if verdict.status == "xfail":
        pytest.xfail(verdict.message)
    if verdict.status == "fail":
        raise InconsistentAnswers(verdict.message)
    if verdict.status == "error":
        raise ModelGaveNoReply(verdict.message)
    if verdict.status == "skip":
        pytest.skip(f"{verdict.message} (tolerated by --rest-allow-errors)")

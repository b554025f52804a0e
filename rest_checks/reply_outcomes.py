"""Why a reply has no answer, where that is more than "none could be read".

``CaseRecord.rules`` keeps, per modality, the rule that read the answer (see
``rest_checks.answers.RULES``) or one of these outcomes when there is no answer:

- ``ambiguous``: the reply gave an option letter and quoted the text or value of another
  option ("B. 0.786" where 0.786 is option D). No answer, never a silent pick.
- ``truncated``: the reply was cut off by its answer budget (``finish_reason`` ``length``
  from an API, or the local model reaching its maximum of new tokens): the model never
  gave its final answer, so nothing in the reply is read.

Pure; imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AMBIGUOUS",
    "OUTCOMES",
    "TRUNCATED",
    "answer_label",
    "cut_at",
    "outcome_counts",
    "outcome_phrases",
    "was_cut",
]

AMBIGUOUS = "ambiguous"
TRUNCATED = "truncated"
OUTCOMES = (AMBIGUOUS, TRUNCATED)


def was_cut(extra: Mapping[str, Any]) -> bool:
    """Whether a reply's backend extras say it stopped at its token budget."""
    return extra.get("finish_reason") == "length"


def cut_at(extra: Mapping[str, Any]) -> int | None:
    """How many tokens a cut reply had: what the backend counted, else its budget."""
    usage = extra.get("usage")
    for value in (
        usage.get("completion_tokens") if isinstance(usage, Mapping) else None,
        extra.get("new_tokens"),
        extra.get("max_tokens"),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def answer_label(
    answer: str | None, rule: str | None, extra: Mapping[str, Any] | None = None
) -> str:
    """An answer as a failure message or report shows it: the answer, or why there is
    none ("(ambiguous)", "(truncated: cut at 1024 tokens)", "(no answer)")."""
    if answer is not None:
        return answer
    if rule == AMBIGUOUS:
        return "(ambiguous)"
    if rule == TRUNCATED:
        tokens = cut_at(extra or {})
        return "(truncated)" if tokens is None else f"(truncated: cut at {tokens} tokens)"
    return "(no answer)"


def outcome_phrases(outcomes: Mapping[str, Mapping[str, int]]) -> list[str]:
    """``truncated: image 3, mixed 1`` for each outcome that occurred (results'
    ``outcomes``), for a summary line."""
    phrases = []
    for outcome, per_modality in outcomes.items():
        seen = [f"{modality} {n}" for modality, n in per_modality.items() if n]
        if seen:
            phrases.append(f"{outcome}: {', '.join(seen)}")
    return phrases


def outcome_counts(
    items: Iterable[Mapping[str, Any]], modalities: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Per outcome, per modality: how many of the results' items had it (from each item's
    ``rules``)."""
    names = list(modalities)
    counts = {outcome: dict.fromkeys(names, 0) for outcome in OUTCOMES}
    for item in items:
        rules = item.get("rules") or {}
        for modality in names:
            rule = rules.get(modality)
            if rule in counts:
                counts[rule][modality] += 1
    return counts

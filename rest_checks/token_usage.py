"""Tokens a run's replies used, per modality, and what they cost where the models file gives
prices. API backends keep each reply's ``usage`` (prompt and completion tokens) in its
extras (``Response.extra["usage"]``); local models count ``prompt_tokens`` and
``new_tokens`` there.

Counted: every reply of a cross-modal or REST+ case, cached replies included (what the run
costs without its cache); the Hypothesis check's replies are not kept, so not counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rest_checks.records import CaseRecord
from rest_checks.results_document import ModalityUsage, Usage

MODALITY_ORDER = ("text", "image", "mixed", "ocr")
# Prices in the models file are per this many tokens.
PRICE_UNIT = 1_000_000


def _usage(extra: Mapping[str, Any]) -> tuple[int, int] | None:
    """(prompt, completion) tokens of one reply: an API's ``usage``, or what a local model
    counted (``prompt_tokens``, ``new_tokens``); None where neither is there."""
    usage = extra.get("usage")
    if not isinstance(usage, Mapping):
        usage = {
            "prompt_tokens": extra.get("prompt_tokens"),
            "completion_tokens": extra.get("new_tokens"),
        }
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion


def usage_table(
    records: Sequence[CaseRecord], prices: Mapping[str, float] | None = None
) -> Usage | None:
    """Per modality: replies with a usage, their prompt and completion tokens, the mean per
    reply; ``image_vs_text``: mean prompt tokens of the image request over the text
    request's, on the cases that have both (what an image costs against its text); with
    ``prices`` (``prompt`` and ``completion``, per million tokens), the cost. None when no
    reply reported its usage."""
    sums: dict[str, list[int]] = {}
    paired: list[tuple[int, int]] = []
    for record in records:
        if record.kind == "invariance" or record.error is not None:
            continue
        found = {m: _usage(extra) for m, extra in record.extra.items()}
        for modality, usage in found.items():
            if usage is not None:
                row = sums.setdefault(modality, [0, 0, 0])
                row[0] += 1
                row[1] += usage[0]
                row[2] += usage[1]
        text, image = found.get("text"), found.get("image")
        if text is not None and image is not None:
            paired.append((text[0], image[0]))
    if not sums:
        return None
    order = [m for m in MODALITY_ORDER if m in sums] + sorted(set(sums) - set(MODALITY_ORDER))
    modalities: dict[str, ModalityUsage] = {
        m: {
            "replies": sums[m][0],
            "prompt_tokens": sums[m][1],
            "completion_tokens": sums[m][2],
            "mean_prompt_tokens": sums[m][1] / sums[m][0],
            "mean_completion_tokens": sums[m][2] / sums[m][0],
        }
        for m in order
    }
    text_tokens = sum(t for t, _ in paired)
    table: Usage = {
        "modalities": modalities,
        "prompt_tokens": sum(row[1] for row in sums.values()),
        "completion_tokens": sum(row[2] for row in sums.values()),
        "image_vs_text": (
            sum(i for _, i in paired) / text_tokens if paired and text_tokens else None
        ),
    }
    if prices:
        table["prices"] = dict(prices)
        cost = {
            m: _cost(row["prompt_tokens"], row["completion_tokens"], prices)
            for m, row in modalities.items()
        }
        cost["total"] = _cost(table["prompt_tokens"], table["completion_tokens"], prices)
        table["cost"] = cost
    return table


def _cost(prompt: int, completion: int, prices: Mapping[str, float]) -> float:
    return (prompt * prices.get("prompt", 0.0) + completion * prices.get("completion", 0.0)) / (
        PRICE_UNIT
    )


def usage_lines(table: Usage) -> list[str]:
    """The summary's lines: tokens per reply by modality, then the cost."""
    parts = [
        f"{m} {row['mean_prompt_tokens']:,.0f}/{row['mean_completion_tokens']:,.0f}"
        for m, row in table["modalities"].items()
    ]
    ratio = table.get("image_vs_text")
    lines = [
        "tokens per reply (prompt/completion): "
        + ", ".join(parts)
        + (f"; an image request's prompt is {ratio:.2f}x its text's" if ratio else "")
        + f"; {table['prompt_tokens'] + table['completion_tokens']:,} tokens in all"
    ]
    if "cost" in table:
        prices = table["prices"]
        by_modality = ", ".join(
            f"{m} ${cost:,.4f}" for m, cost in table["cost"].items() if m != "total"
        )
        lines.append(
            f"cost ${table['cost']['total']:,.4f} ({by_modality}; at ${prices.get('prompt', 0):g} "
            f"per million prompt and ${prices.get('completion', 0):g} per million completion "
            "tokens, cached replies included)"
        )
    return lines

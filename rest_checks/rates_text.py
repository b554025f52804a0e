"""The rates of a results document's ``metrics`` block, each with its counts and interval,
in the order every table shows them (the terminal summary, the CI step summary, the HTML
report, ``rest-checks compare``, the leaderboard)."""

from __future__ import annotations

from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.results_document import Counts, Interval, Metrics, Rate


def rate(value: float | None, counts: Counts, interval: Interval) -> Rate:
    return {"value": value, "k": counts[0], "n": counts[1], "ci95": list(interval)}


def headline_rates(metrics: Metrics) -> list[tuple[str, Rate]]:
    """RER, CFR, MMC and accuracy per modality, as the results document counts them."""
    counts, intervals = metrics["counts"], metrics["intervals"]
    rates = [
        ("RER", rate(metrics["rer"], counts["rer"], intervals["rer"])),
        ("CFR", rate(metrics["cfr"], counts["cfr"], intervals["cfr"])),
        ("MMC", rate(metrics["mmc"], counts["mmc"], intervals["mmc"])),
    ]
    rates += [
        (
            f"accuracy {m}",
            rate(metrics["accuracy"][m], counts["accuracy"][m], intervals["accuracy"][m]),
        )
        for m in ANSWER_MODALITIES
    ]
    return rates


def agreement_rates(metrics: Metrics) -> list[tuple[str, Rate]]:
    """How often two modalities agree, per pair (``text-image``, ...)."""
    counts, intervals = metrics["counts"]["agreement"], metrics["intervals"]["agreement"]
    return [
        (pair, rate(value, counts[pair], intervals[pair]))
        for pair, value in metrics["agreement"].items()
    ]


__all__ = ["agreement_rates", "headline_rates", "rate"]

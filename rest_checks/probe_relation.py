"""Representation and consistency across models: each run's mean cross-modal cosine from
the representation probe (``--rest-probe``) against its RER, a least-squares line, R², and
a bootstrap interval of R² over the models (docs/leaderboard.md; the paper reports
R² = 0.611 across its models).

The cosine is the probe's at the **last layer** (the hidden state after the final norm, the
one the language-model head reads: ``layer_cosine[-1]``), between the image request's
visual tokens and the same content's tokens in the text request, averaged over the run's
cross-modal items. The last layer is the one every model has at the same depth, whatever
its number of layers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from rest_checks.results_document import ResultsDocument

PROBE_LAYER = "last layer (after the final norm)"
# Fewest models a relation across models is fitted on.
MIN_MODELS = 3
BOOTSTRAP_RESAMPLES = 2000


def mean_probe_cosine(results: ResultsDocument) -> tuple[float, int] | None:
    """The run's mean last-layer cosine over its cross-modal items with an image probe,
    and how many there were; None for a run without the probe."""
    values = []
    for item in results["items"]:
        probe = ((item.get("extra") or {}).get("image") or {}).get("probe") or {}
        layers = probe.get("layer_cosine")
        if isinstance(layers, list) and layers and isinstance(layers[-1], (int, float)):
            values.append(float(layers[-1]))
    return (sum(values) / len(values), len(values)) if values else None


def _line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float] | None:
    """Least squares ``y = intercept + slope * x`` and R²; None where x or y does not vary."""
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    return my - slope * mx, slope, sxy * sxy / (sxx * syy)


@dataclass(frozen=True)
class ProbeFit:
    """``points``: (run, mean cosine, items probed, RER). ``r2_interval``: the 2.5th and
    97.5th percentiles of R² over ``resamples`` bootstrap resamples of the models (resamples
    where the cosine or RER does not vary are drawn again); None where the fit is."""

    points: list[tuple[str, float, int, float]]
    intercept: float
    slope: float
    r2: float
    r2_interval: tuple[float, float]
    resamples: int
    layer: str = PROBE_LAYER

    def describe(self) -> str:
        low, high = self.r2_interval
        return (
            f"RER = {self.intercept:.3f} + {self.slope:.3f} x cosine ({self.layer}) over "
            f"{len(self.points)} models: R² = {self.r2:.3f}, 95% bootstrap interval over "
            f"models [{low:.3f}, {high:.3f}] ({self.resamples} resamples)"
        )


def fit_probe_relation(
    points: Sequence[tuple[str, float, int, float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> ProbeFit | None:
    """Fit RER on the mean cosine across models; None with fewer than ``MIN_MODELS``
    points or where the cosine or RER is the same for every model."""
    if len(points) < MIN_MODELS:
        return None
    xs, ys = [p[1] for p in points], [p[3] for p in points]
    fitted = _line(xs, ys)
    if fitted is None:
        return None
    intercept, slope, r2 = fitted
    rng = random.Random(seed)
    draws: list[float] = []
    attempts = 0
    while len(draws) < resamples and attempts < 20 * resamples:
        attempts += 1
        picks = [rng.randrange(len(points)) for _ in points]
        refit = _line([xs[i] for i in picks], [ys[i] for i in picks])
        if refit is not None:
            draws.append(refit[2])
    if not draws:
        return None
    draws.sort()
    low = draws[round(0.025 * (len(draws) - 1))]
    high = draws[round(0.975 * (len(draws) - 1))]
    return ProbeFit(list(points), intercept, slope, r2, (low, high), len(draws))

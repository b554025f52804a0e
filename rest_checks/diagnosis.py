"""Where a gate's loss lies: the cases lost and gained against the baseline, broken down
by task source, font, DPI, colour, answer type and question length, with an exact test
per level and Holm across levels (docs/diagnosis.md).

A level is named as a place of the loss when two exact tests both reject at their Holm
levels (an intersection-union test, so the pair keeps the error rate of each):

- *net loss*: the level's cases lost more than they gained (exact one-sided McNemar on its
  lost against its gained cases);
- *concentration*: the level holds more of the lost cases than its share of the shared
  cases (exact one-sided binomial test: lost in the level ~ Binomial(all lost, share)).

The first alone would name every level of a model that got worse everywhere; the second
alone would name a level that lost two of the run's three lost cases and gained ten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from rest_checks.fonts import font_info
from rest_checks.items.base import Item
from rest_checks.metrics import binomial_upper_tail, holm_levels, mcnemar_exact
from rest_checks.records import CaseRecord
from rest_checks.render.colours import colour_name
from rest_checks.render.specs import RenderSpec
from rest_checks.results_document import Diagnosis as DiagnosisJson
from rest_checks.results_document import LevelTest as LevelTestJson
from rest_checks.results_document import Where

# The factors in the order they are shown; each case has one level of each.
FACTORS = ("task", "font", "dpi", "colour", "answer_type", "question_length")
FACTOR_NAMES = {
    "task": "task source",
    "font": "font",
    "dpi": "DPI",
    "colour": "colour",
    "answer_type": "answer type",
    "question_length": "question length",
}


def _natural(level: str) -> tuple[tuple[int, str], ...]:
    """Sorts ``50 DPI`` before ``100 DPI`` and ``6-9 words`` before ``10-11 words``."""
    return tuple((int(p), "") if p.isdigit() else (0, p) for p in re.split(r"(\d+)", level))


def _length_bands(lengths: Sequence[int]) -> Callable[[int], str]:
    """Terciles of the items' lengths in words: a function from a length to its band,
    labelled by the lengths that fall in it (``12-25 words``)."""
    ordered = sorted(lengths)
    cuts = sorted({ordered[len(ordered) // 3], ordered[2 * len(ordered) // 3]})

    def band(length: int) -> int:
        return sum(1 for cut in cuts if length > cut)

    members: dict[int, list[int]] = {}
    for length in ordered:
        members.setdefault(band(length), []).append(length)
    labels = {
        index: f"{found[0]} words" if found[0] == found[-1] else f"{found[0]}-{found[-1]} words"
        for index, found in members.items()
    }
    return lambda length: labels[band(length)]


def case_factors(
    records: Sequence[CaseRecord],
    items: Sequence[Item],
    spec_of: Callable[[str], RenderSpec],
) -> dict[str, dict[str, str]]:
    """Case key -> factor -> level, for the cross-modal and REST+ cases of ``records``
    (the Hypothesis check's renderings vary within a case, so it has no level).
    ``spec_of``: a rendering's name ("default", a REST+ grid name) -> its spec."""
    by_id = {item.id: item for item in items}
    cases = [r for r in records if r.kind != "invariance" and r.item_id in by_id]
    words = {r.item_id: len(by_id[r.item_id].full_text().split()) for r in cases}
    band = _length_bands(list(words.values()) or [0])
    factors = {}
    for record in cases:
        spec = spec_of(record.rendering)
        factors[record.key] = {
            "task": record.task,
            "font": font_info(spec.font).family,
            "dpi": f"{spec.dpi} DPI",
            "colour": f"{colour_name(spec.fg)} on {colour_name(spec.bg)}",
            "answer_type": by_id[record.item_id].answer_type,
            "question_length": band(words[record.item_id]),
        }
    return factors


@dataclass(frozen=True)
class LevelTest:
    """One factor level: its shared cases, lost and gained, and its two tests with the
    Holm level each was held to (None: Holm's step-down stopped before it)."""

    factor: str
    level: str
    n: int
    lost: int
    gained: int
    p_net_loss: float
    p_concentration: float
    holm_net_loss: float | None
    holm_concentration: float | None

    @property
    def significant(self) -> bool:
        return (
            self.holm_net_loss is not None
            and self.p_net_loss < self.holm_net_loss
            and self.holm_concentration is not None
            and self.p_concentration < self.holm_concentration
        )

    def to_json(self) -> LevelTestJson:
        return {
            "factor": self.factor,
            "level": self.level,
            "n": self.n,
            "lost": self.lost,
            "gained": self.gained,
            "p_net_loss": self.p_net_loss,
            "p_concentration": self.p_concentration,
            "holm_net_loss": self.holm_net_loss,
            "holm_concentration": self.holm_concentration,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class Diagnosis:
    """The breakdown of one gate's lost and gained cases. ``where``: the shared cases in
    every factor with a significant level, in one of its significant levels (lost, gained
    and n there); None when no level is significant."""

    alpha: float
    n_shared: int
    lost: int
    gained: int
    levels: tuple[LevelTest, ...]
    # Factors with a single level among the shared cases: they cannot say where.
    single_level: tuple[str, ...]
    where: Where | None

    def named(self) -> dict[str, list[str]]:
        """Factor -> the levels the loss is said to be in (``where``): the significant
        levels of the factors that stay separable from the others."""
        return dict(self.where["factors"]) if self.where else {}

    def significant(self) -> dict[str, list[str]]:
        """Factor -> its significant levels, in the order of ``FACTORS``."""
        found: dict[str, list[str]] = {}
        for test in self.levels:
            if test.significant:
                found.setdefault(test.factor, []).append(test.level)
        return found

    def to_json(self) -> DiagnosisJson:
        return {
            "alpha": self.alpha,
            "n_shared": self.n_shared,
            "lost": self.lost,
            "gained": self.gained,
            "significant": self.significant(),
            "named": self.named(),
            "where": self.where,
            "single_level": list(self.single_level),
            "levels": [test.to_json() for test in self.levels],
        }


# Long by its docstring and its steps in order (test each factor, Holm, name the place);
# each step is a few lines that read the one before.
def diagnose(
    baseline: Mapping[str, bool],
    current: Mapping[str, bool],
    factors: Mapping[str, Mapping[str, str]],
    alpha: float,
) -> Diagnosis:
    """Break the cases shared by ``baseline`` and ``current`` (case key -> consistent)
    that have ``factors`` down by level, and test each level (module docstring)."""
    shared = sorted(k for k in baseline.keys() & current.keys() if k in factors)
    lost = {k for k in shared if baseline[k] and not current[k]}
    gained = {k for k in shared if not baseline[k] and current[k]}
    counts: dict[tuple[str, str], list[int]] = {}
    for key in shared:
        for factor in FACTORS:
            n_lost_gained = counts.setdefault((factor, factors[key][factor]), [0, 0, 0])
            n_lost_gained[0] += 1
            n_lost_gained[1] += key in lost
            n_lost_gained[2] += key in gained
    per_factor = {f: sorted((lv for g, lv in counts if g == f), key=_natural) for f in FACTORS}
    tested = [(f, level) for f in FACTORS if len(per_factor[f]) > 1 for level in per_factor[f]]
    p_net = {
        f"{f}={level}": mcnemar_exact(
            counts[f, level][1], counts[f, level][2], alternative="greater"
        )
        for f, level in tested
    }
    p_share = {
        f"{f}={level}": binomial_upper_tail(
            counts[f, level][1], len(lost), Fraction(counts[f, level][0], len(shared))
        )
        for f, level in tested
    }
    holm_net, holm_share = holm_levels(p_net, alpha), holm_levels(p_share, alpha)
    levels = tuple(
        LevelTest(
            factor=f,
            level=level,
            n=counts[f, level][0],
            lost=counts[f, level][1],
            gained=counts[f, level][2],
            p_net_loss=p_net[f"{f}={level}"],
            p_concentration=p_share[f"{f}={level}"],
            holm_net_loss=holm_net[f"{f}={level}"],
            holm_concentration=holm_share[f"{f}={level}"],
        )
        for f, level in tested
    )
    diagnosis = Diagnosis(
        alpha=alpha,
        n_shared=len(shared),
        lost=len(lost),
        gained=len(gained),
        levels=levels,
        single_level=tuple(f for f in FACTORS if shared and len(per_factor[f]) == 1),
        where=None,
    )
    found = _separable(diagnosis.significant(), shared, lost, factors, alpha)
    if not found:
        return diagnosis
    where = _where(found, shared, lost, gained, factors)
    return Diagnosis(**{**diagnosis.__dict__, "where": where})


def _where(
    found: Mapping[str, list[str]],
    shared: Sequence[str],
    lost: set[str],
    gained: set[str],
    factors: Mapping[str, Mapping[str, str]],
) -> Where:
    """The shared cases in every named level (``found``), and those lost in any."""
    there = [k for k in shared if all(factors[k][f] in found[f] for f in found)]
    anywhere = [k for k in shared if any(factors[k][f] in found[f] for f in found)]
    return {
        "factors": {f: found[f] for f in FACTORS if f in found},
        "n": len(there),
        "lost": sum(k in lost for k in there),
        "gained": sum(k in gained for k in there),
        # Lost in any named level: where the crossing holds fewer, the loss lies in
        # separate places (cursive at 50 DPI, and any font at 36 DPI), not in one.
        "lost_in_any": sum(k in lost for k in anywhere),
    }


def _separable(
    found: Mapping[str, list[str]],
    shared: Sequence[str],
    lost: set[str],
    factors: Mapping[str, Mapping[str, str]],
    alpha: float,
) -> dict[str, list[str]]:
    """The significant levels of the factors whose loss the other named factors do not
    explain. The REST+ grid is not factorial (colours are drawn in the default font at the
    default DPI; an item has one task and one answer type), so a level can be significant
    only because it holds the cases of another: every Dancing Script page is black on
    white. Within the cases in the other factors' named levels, a factor must still have
    more than one level and its named levels must still hold more of the lost cases than
    their share (exact binomial test at ``alpha``: a further condition, so the error rate
    stays that of the tests before it). The last factor that fails is dropped and the rest
    checked again, so of two factors that name the same cases the first in ``FACTORS``
    stays."""
    kept = {f: list(levels) for f, levels in found.items()}
    while True:
        failing = next(
            (
                f
                for f in reversed(FACTORS)
                if f in kept and not _still_concentrated(f, kept, shared, lost, factors, alpha)
            ),
            None,
        )
        if failing is None:
            return kept
        del kept[failing]


def _still_concentrated(
    factor: str,
    kept: Mapping[str, list[str]],
    shared: Sequence[str],
    lost: set[str],
    factors: Mapping[str, Mapping[str, str]],
    alpha: float,
) -> bool:
    within = [
        k
        for k in shared
        if all(factors[k][g] in levels for g, levels in kept.items() if g != factor)
    ]
    if len({factors[k][factor] for k in within}) < 2:
        return False
    inside = [k for k in within if factors[k][factor] in kept[factor]]
    lost_within = sum(k in lost for k in within)
    share = Fraction(len(inside), len(within))
    return binomial_upper_tail(sum(k in lost for k in inside), lost_within, share) < alpha

"""The paper's metrics over result tables. Pure functions: no I/O, no model knowledge.

A result table is a sequence of ``ItemOutcome`` rows: one item, its canonical expected
answer, and the canonical final answer the model gave in each of the three answer
modalities (``None`` where no answer could be parsed; see ``rest_checks.answers``).

The package is split by concern, and every name is re-exported here:

    ``rates``       ``ItemOutcome``, ``consistent``, ``correct`` and the rates below.
    ``ocr``         transcription normalisation and CER.
    ``statistics``  Wilson intervals, exact McNemar and the paired run comparison.
    ``paired_bound`` the one-sided confidence bound of the paired RER drop (the gate).
    ``summary``     ``Summary``, ``summarize``, ``summary_by``.

Definitions (docs/metrics.md)
    consistent   an item's final answers in text, image and mixed are all present and
                 identical (``consistent``); the only definition of consistency.
    correct      an answer equals the canonical expected answer; ``None`` is wrong
                 (``correct``); the only definition of correctness.
    accuracy(m)  share of items answered correctly in modality ``m``.
    RER          Render-Equivalence Rate: share of consistent items. Sameness, not
                 correctness: consistently wrong is consistent. No answer (``None``)
                 differs from everything, ``None`` included.
    CFR          Cross-modality Failure Rate: among items correct in at least one modality,
                 the share correct in some but not all.
    MMC          Max Modal Coverage: share of items correct in at least one modality.
    agreement    pairwise: share of items with the same (non-None) answer in two modalities.
    CER          character error rate of an OCR transcription: Levenshtein distance over
                 the length of the reference.
    drop bound   the one-sided upper confidence bound of the paired RER drop
                 P(lost) - P(gained): Tango's score bound, continuity-corrected
                 (``drop_upper_bound``; docs/gate.md).

Decisions
    * A rate over no items (an empty table; CFR when no item is correct anywhere) is
      ``float("nan")``, never 0 or an error. Each rate has a ``*_counts`` variant returning
      ``(successes, n)`` so callers can tell 0/0 apart and compute intervals.
      ``to_json`` methods write NaN as ``None``.
    * Correctness compares canonical strings: ``answer == expected``; ``None`` is wrong.
    * ``agreement_matrix`` puts on its diagonal the share of items with any answer in that
      modality (a modality agrees with itself wherever it answered).
    * CER normalisation: both strings are NFC-normalised and all whitespace (spaces, line
      breaks) is removed: spacing and line breaks are layout, not content, and OCR engines
      often drop the spaces of a line ("2A+3B-C=7"), which must not make a perfect reading
      imperfect. Case and punctuation count. An empty reference gives
      0.0 for an empty hypothesis and 1.0 otherwise. CER can exceed 1 (a hypothesis much
      longer than the reference). The Levenshtein distance (unit costs, on code points) is
      ``rapidfuzz``'s, so a transcription of any length gets its true CER.
    * ``ocr_perfect`` keeps rows with a CER of exactly 0 (after normalisation).
    * Intervals are Wilson score intervals (good at small n and near 0 or 1); for n = 0
      the interval is (0, 1).
    * Paired comparison between runs uses McNemar's exact test: a two-sided binomial test
      (p = 1/2) on the discordant items, computed in exact rational arithmetic;
      ``p_value_drop`` is the one-sided p-value for "RER went down".
"""

from __future__ import annotations

from rest_checks.metrics.ocr import (
    character_error_rate,
    levenshtein,
    mean_ocr_cer,
    normalize_transcription,
    ocr_perfect,
)
from rest_checks.metrics.paired_bound import (
    drop_exceeds,
    drop_upper_bound,
    items_to_decide,
    shows_within,
)
from rest_checks.metrics.rates import (
    MODALITIES,
    ItemOutcome,
    accuracies,
    accuracy,
    accuracy_counts,
    agreement_matrix,
    cfr,
    cfr_counts,
    consistent,
    correct,
    mmc,
    mmc_counts,
    pairwise_agreement,
    pairwise_agreement_counts,
    rer,
    rer_counts,
    same_answer,
)
from rest_checks.metrics.statistics import (
    PairedComparison,
    Proportion,
    binomial_upper_tail,
    compare_runs,
    holm_levels,
    mcnemar_exact,
    wilson_interval,
)
from rest_checks.metrics.summary import PAIRS, Summary, summarize, summary_by

__all__ = [
    "MODALITIES",
    "PAIRS",
    "ItemOutcome",
    "PairedComparison",
    "Proportion",
    "Summary",
    "accuracies",
    "accuracy",
    "accuracy_counts",
    "agreement_matrix",
    "binomial_upper_tail",
    "cfr",
    "cfr_counts",
    "character_error_rate",
    "compare_runs",
    "consistent",
    "correct",
    "drop_exceeds",
    "drop_upper_bound",
    "holm_levels",
    "items_to_decide",
    "levenshtein",
    "mcnemar_exact",
    "mean_ocr_cer",
    "mmc",
    "mmc_counts",
    "normalize_transcription",
    "ocr_perfect",
    "pairwise_agreement",
    "pairwise_agreement_counts",
    "rer",
    "rer_counts",
    "same_answer",
    "shows_within",
    "summarize",
    "summary_by",
    "wilson_interval",
]

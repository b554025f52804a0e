"""The OCR control: character error rate of a transcription, and the rows it leaves.

The edit distance is ``rapidfuzz``'s Levenshtein distance (unit costs, on code points):
compiled, bit-parallel, and fast on any transcription a model returns, so every
transcription gets its true CER, however long.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

from rest_checks.metrics._common import NAN
from rest_checks.metrics.rates import ItemOutcome

__all__ = [
    "character_error_rate",
    "levenshtein",
    "mean_ocr_cer",
    "normalize_transcription",
    "ocr_perfect",
]


def normalize_transcription(text: str) -> str:
    """NFC, all whitespace (spaces, tabs, line breaks) removed."""
    return "".join(unicodedata.normalize("NFC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance between ``a`` and ``b`` with unit-cost insertions, deletions and
    substitutions (no transpositions), on code points, without any normalisation."""
    return int(Levenshtein.distance(a, b))


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance between the normalised strings over the normalised reference's
    length.

    Normalisation: ``normalize_transcription`` (NFC, whitespace removed). An empty
    reference gives 0.0 when the hypothesis is empty too, else 1.0. The value can exceed 1
    when the hypothesis is much longer than the reference. Never raises on long input.
    """
    ref = normalize_transcription(reference)
    hyp = normalize_transcription(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def ocr_perfect(rows: Iterable[ItemOutcome]) -> list[ItemOutcome]:
    """The rows whose transcription was perfect (``ocr_cer == 0``), in order."""
    return [r for r in rows if r.ocr_cer is not None and r.ocr_cer == 0]


def mean_ocr_cer(rows: Iterable[ItemOutcome]) -> float:
    """Mean CER over the rows that have one; NaN when none has."""
    values = [r.ocr_cer for r in rows if r.ocr_cer is not None]
    return math.fsum(values) / len(values) if values else NAN

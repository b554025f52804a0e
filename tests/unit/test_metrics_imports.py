"""The metrics package stays light and keeps its public names (rest_checks.metrics)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Every name the single-module metrics exported, plus the ones added with the package.
PUBLIC = [
    "MODALITIES",
    "ItemOutcome",
    "PairedComparison",
    "Proportion",
    "Summary",
    "accuracies",
    "accuracy",
    "accuracy_counts",
    "agreement_matrix",
    "cfr",
    "cfr_counts",
    "character_error_rate",
    "compare_runs",
    "consistent",
    "correct",
    "drop_exceeds",
    "drop_upper_bound",
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

HEAVY = ("PIL", "numpy", "torch", "transformers", "openai", "rapidocr", "onnxruntime")


def run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, so no other test's imports are in the way."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_the_metrics_pulls_in_no_pil_or_other_heavy_library() -> None:
    code = (
        "import sys, rest_checks.metrics\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = run_fresh(code)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["rates", "ocr", "statistics", "summary"])
def test_each_metrics_module_imports_on_its_own(module: str) -> None:
    code = f"import sys, rest_checks.metrics.{module}\nassert 'PIL' not in sys.modules\n"
    result = run_fresh(code)
    assert result.returncode == 0, result.stderr


def test_the_package_exports_every_public_name() -> None:
    import rest_checks.metrics as metrics

    missing = [name for name in PUBLIC if not hasattr(metrics, name)]
    assert not missing
    assert set(PUBLIC) <= set(metrics.__all__)
    assert all(hasattr(metrics, name) for name in metrics.__all__)


def test_the_cell_cap_is_gone() -> None:
    import rest_checks.metrics as metrics

    assert not hasattr(metrics, "MAX_LEVENSHTEIN_CELLS")

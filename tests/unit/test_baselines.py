"""Baselines: reading, writing, and the session gate (exact McNemar plus a tolerance)."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from rest_checks.baselines import (
    BaselineError,
    GateResult,
    baseline_document,
    gate,
    load_baseline,
    write_baseline,
)
from rest_checks.metrics import ItemOutcome, summarize


def write(tmp_path: Path, cases: dict[str, bool]) -> Path:
    path = tmp_path / "baselines" / "m.json"
    write_baseline(
        path,
        baseline_document(
            model="m",
            model_identity={"backend": "mock"},
            suite=("soebench",),
            seed=0,
            metrics={},
            cases=cases,
            fingerprints={key: "f" * 16 for key in cases},
            signature={"seed": 0, "sources": ["soebench"]},
        ),
    )
    return path


def test_round_trip_keeps_every_case(tmp_path: Path) -> None:
    cases = {"a-1": True, "a-2": False, "a-1@red-text": False}
    baseline = load_baseline(write(tmp_path, cases))
    assert baseline is not None
    assert baseline.cases == cases
    assert baseline.consistent("a-2") is False
    assert baseline.consistent("never-seen") is None
    assert baseline.item_cases() == {"a-1": True, "a-2": False}


def test_missing_file_is_no_baseline(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "none.json") is None


def test_broken_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{\n  "format": 2,\n  "cases": {,}\n}\n')
    with pytest.raises(BaselineError, match=r"b\.json:3: not valid JSON"):
        load_baseline(path)


def test_non_boolean_case_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, {"a": True})
    data = json.loads(path.read_text())
    data["cases"]["a"]["consistent"] = "yes"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="case 'a' must be a table with consistent true/false"):
        load_baseline(path)


def test_gate_fails_on_a_significant_drop_beyond_tolerance(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {f"i{k}": True for k in range(20)}))
    assert baseline is not None
    # 8 lost, 0 gained: exact two-sided McNemar p = 2 * 0.5**8 = 0.0078; drop 0.4.
    current = {f"i{k}": k >= 8 for k in range(20)}
    result = gate(baseline, current, alpha=0.05, tolerance=0.02)
    assert result.failed
    assert result.comparison.p_value == pytest.approx(2 * 0.5**8)


def test_a_drop_that_is_not_significant_is_not_a_pass(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {f"i{k}": True for k in range(20)}))
    assert baseline is not None
    # 2 lost of 20: p = 0.5, not a failure; but a 10-point drop is not shown to be within
    # a 2-point tolerance either.
    current = {f"i{k}": k >= 2 for k in range(20)}
    result = gate(baseline, current, alpha=0.05, tolerance=0.02)
    assert result.verdict == "inconclusive"
    assert result.upper_bound > 0.1


def test_a_significant_drop_within_a_wide_tolerance_is_not_a_failure(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {f"i{k}": True for k in range(20)}))
    assert baseline is not None
    current = {f"i{k}": k >= 8 for k in range(20)}
    assert not gate(baseline, current, alpha=0.05, tolerance=0.5).failed


def _gate_counts(
    tmp_path: Path, lost: int, gained: int, n: int, tolerance: float = 0.02, **extra: bool
) -> GateResult:
    """A gate over ``n`` items of which ``lost`` were lost and ``gained`` gained; half of
    the others consistent in both runs. ``extra``: baseline cases this run did not run."""
    cases: dict[str, bool] = {}
    now: dict[str, bool] = {}
    for k in range(n):
        key = f"i{k:05d}"
        if k < gained:
            cases[key], now[key] = False, True
        elif k < gained + lost:
            cases[key], now[key] = True, False
        else:
            cases[key] = now[key] = k % 2 == 0
    cases.update(extra)
    baseline = load_baseline(write(tmp_path, cases))
    assert baseline is not None
    return gate(baseline, now, alpha=0.05, tolerance=tolerance)


def test_a_drop_above_the_tolerance_that_is_not_significant_is_inconclusive(
    tmp_path: Path,
) -> None:
    # n = 450, lost 38, gained 22: a 3.6-point drop, McNemar p = 0.052. It once passed,
    # "smallest detectable drop 1.3 points", with a tolerance of 2 points.
    result = _gate_counts(tmp_path, lost=38, gained=22, n=450)
    assert result.comparison.p_value == pytest.approx(0.052, abs=0.001)
    assert result.verdict == "inconclusive"
    assert result.upper_bound > 0.036


def test_a_drop_of_exactly_the_tolerance_is_decided_in_exact_arithmetic(tmp_path: Path) -> None:
    # lost 9, gained 0 of 450: a drop of exactly 2 points. As a difference of two RERs in
    # floating point it is 0.0200...018 or 0.0199...907 depending on the RERs: never
    # above the tolerance, whatever the other items are.
    for both_consistent_share in (0, 1, 2):
        folder = tmp_path / str(both_consistent_share)
        cases = {f"i{k:03d}": k < 9 or k % 3 < both_consistent_share for k in range(450)}
        now = {key: k >= 9 and value for k, (key, value) in enumerate(cases.items())}
        baseline = load_baseline(write(folder, cases))
        assert baseline is not None
        result = gate(baseline, now, alpha=0.05, tolerance=0.02)
        assert result.comparison.p_value < 0.05
        assert result.verdict == "inconclusive", both_consistent_share


def test_an_unchanged_large_run_passes_with_its_bound(tmp_path: Path) -> None:
    result = _gate_counts(tmp_path, lost=3, gained=4, n=1000)
    assert result.verdict == "passed"
    assert result.upper_bound <= 0.02


def test_a_partial_run_is_at_best_inconclusive(tmp_path: Path) -> None:
    # The run would pass on the items it ran, but 300 baseline items were not run.
    extra = {f"mcq-{k:03d}": True for k in range(300)}
    result = _gate_counts(tmp_path, lost=0, gained=0, n=1000, **extra)
    assert result.verdict == "inconclusive"
    assert result.coverage.partial
    assert result.coverage.judged_items == 1000 and result.coverage.baseline_items == 1300
    assert "partial: 1000 of 1300 baseline items" in result.coverage.describe()


def test_a_partial_run_can_still_fail(tmp_path: Path) -> None:
    extra = {f"mcq-{k:03d}": True for k in range(300)}
    result = _gate_counts(tmp_path, lost=60, gained=0, n=1000, **extra)
    assert result.verdict == "failed"


def test_an_inconclusive_run_says_how_many_items_would_decide_it(tmp_path: Path) -> None:
    result = _gate_counts(tmp_path, lost=5, gained=3, n=150)
    assert result.verdict == "inconclusive"
    assert result.items_to_decide is not None and result.items_to_decide > 150


def test_a_small_run_is_inconclusive(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {f"i{k}": True for k in range(10)}))
    assert baseline is not None
    result = gate(baseline, {f"i{k}": True for k in range(10)}, alpha=0.05, tolerance=0.02)
    assert result.verdict == "inconclusive" and not result.failed
    # Nothing lost of 10: the drop may still be a quarter of the items.
    assert 0.1 < result.upper_bound < 0.4


def test_gate_ignores_items_the_baseline_never_saw(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {"i1": True}))
    assert baseline is not None
    result = gate(baseline, {"i1": True, "new": False}, alpha=0.05, tolerance=0.0)
    assert result.comparison.n_common == 1 and not result.failed
    assert not result.coverage.partial


def test_the_gate_names_the_task_that_regressed(tmp_path: Path) -> None:
    keys = [f"a{k}" for k in range(40)] + [f"b{k}" for k in range(40)]
    baseline = load_baseline(write(tmp_path, dict.fromkeys(keys, True)))
    assert baseline is not None
    current = {key: not (key.startswith("a") and int(key[1:]) < 12) for key in keys}
    tasks = {key: "arith" if key.startswith("a") else "mcq" for key in keys}
    result = gate(baseline, current, alpha=0.05, tolerance=0.02, tasks=tasks)
    assert result.verdict == "failed"
    assert [t.task for t in result.by_task if t.verdict == "failed"] == ["arith"]


def test_a_task_that_fails_fails_a_run_whose_pooled_bound_passes(tmp_path: Path) -> None:
    # 3,000 items of one task unchanged, 150 of another with 14 lost: pooled, the drop is
    # 0.4 points and its bound within 2 points; the small task's drop is significant.
    big = {f"a{k:04d}": True for k in range(3000)}
    small = {f"b{k:03d}": True for k in range(150)}
    baseline = load_baseline(write(tmp_path, {**big, **small}))
    assert baseline is not None
    current = {**big, **{key: k >= 14 for k, key in enumerate(small)}}
    tasks = {key: key[0] for key in current}
    result = gate(baseline, current, alpha=0.05, tolerance=0.02, tasks=tasks)
    from rest_checks.metrics.paired_bound import shows_within

    assert shows_within(14, 0, 3150, 0.02, 0.05)
    assert result.verdict == "failed"
    by_task = {t.task: t for t in result.by_task}
    assert by_task["b"].verdict == "failed" and by_task["a"].verdict == "passed"


def test_holm_levels_are_the_ones_used_and_stop_after_the_first_miss(tmp_path: Path) -> None:
    keys = [f"{t}{k:02d}" for t in "abc" for k in range(40)]
    baseline = load_baseline(write(tmp_path, dict.fromkeys(keys, True)))
    assert baseline is not None
    lost = {"a": 20, "b": 1, "c": 0}
    current = {key: int(key[1:]) >= lost[key[0]] for key in keys}
    tasks = {key: key[0] for key in keys}
    result = gate(baseline, current, alpha=0.05, tolerance=0.02, tasks=tasks)
    by_task = {t.task: t for t in result.by_task}
    assert by_task["a"].alpha == pytest.approx(0.05 / 3)
    # b's p-value (1.0) misses its level 0.05/2, so Holm tests nothing after it.
    assert by_task["b"].alpha == pytest.approx(0.05 / 2)
    assert by_task["c"].alpha is None


def test_a_baseline_of_the_wrong_shape_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, {"a": True})
    data = json.loads(path.read_text())
    data["metrics"] = "abc"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="field 'metrics' must be a dict"):
        load_baseline(path)


def test_a_directory_source_is_signed_by_its_files_contents(tmp_path: Path) -> None:
    from rest_checks.baselines import run_signature
    from rest_checks.config import RestSettings

    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "anatomy_test.csv").write_text("Q?,a,b,c,d,A\n")
    settings = RestSettings.from_values({"rest_suite": ("mcq", "test")}, tmp_path)
    first = run_signature(settings)["sources"]
    assert first[0] == "mcq" and first[1].startswith("file:test:")
    (folder / "anatomy_test.csv").write_text("Q?,a,b,c,d,B\n")
    assert run_signature(settings)["sources"][1] != first[1]


# --- the compact metrics block -------------------------------------------------------------


def _outcomes(flipped: set[str]) -> list[ItemOutcome]:
    """30 consistent, correct items; those in ``flipped`` misread in the image."""
    return [
        ItemOutcome(
            id=f"a-{i:02d}",
            task="arith",
            expected="7",
            answers={"text": "7", "image": "1" if f"a-{i:02d}" in flipped else "7", "mixed": "7"},
            ocr_cer=0.0,
        )
        for i in range(30)
    ]


def _written(tmp_path: Path, name: str, flipped: set[str]) -> Path:
    rows = _outcomes(flipped)
    path = tmp_path / f"{name}.json"
    write_baseline(
        path,
        baseline_document(
            model="m",
            model_identity={"backend": "mock"},
            suite=("arith",),
            seed=0,
            metrics=summarize(rows).to_json(),
            cases={r.id: r.id not in flipped for r in rows},
            fingerprints={r.id: "f" * 16 for r in rows},
            signature={"seed": 0, "sources": ["arith"]},
        ),
    )
    return path


def _metrics_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index('  "metrics": {')
    end = lines.index("  },", start)
    return lines[start + 1 : end]


def test_metrics_block_has_one_line_per_metric(tmp_path: Path) -> None:
    text = _written(tmp_path, "b", {"a-03"}).read_text(encoding="utf-8")
    block = _metrics_lines(text)
    metrics = json.loads(text)["metrics"]
    for key, value in metrics.items():
        opening = [line for line in block if line.startswith(f'    "{key}": ')]
        assert len(opening) == 1, key
        if key in ("counts", "intervals"):  # tables: one line per metric inside
            inner = [line for line in block if line.startswith("      ")]
            assert any(line.startswith('      "rer": [') for line in inner)
        else:
            assert json.loads(opening[0].split(": ", 1)[1].rstrip(",")) == value


def test_metric_numbers_are_rounded_to_four_digits(tmp_path: Path) -> None:
    path = _written(tmp_path, "b", {"a-03"})
    block = "\n".join(_metrics_lines(path.read_text(encoding="utf-8")))
    decimals = [len(number.split(".")[1]) for number in re.findall(r"\d+\.\d+", block)]
    assert decimals and max(decimals) <= 4
    baseline = load_baseline(path)
    assert baseline is not None
    assert baseline.metrics["rer"] == round(29 / 30, 4)
    assert baseline.metrics["counts"]["rer"] == [29, 30]


def test_one_flipped_case_changes_a_few_lines(tmp_path: Path) -> None:
    before = _written(tmp_path, "before", set()).read_text(encoding="utf-8").splitlines()
    after = _written(tmp_path, "after", {"a-03"}).read_text(encoding="utf-8").splitlines()
    changed = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # The case's own line, and one line for each metric the flip moves (RER and RER on the
    # OCR-perfect items, CFR, accuracy, agreement; their counts and intervals): old and new.
    # The expanded layout of syrupy's serialiser changes 50 here.
    assert len(changed) <= 2 * 16
    assert '-      "consistent": true,' in changed
    assert all(len(line) < 120 for line in changed)

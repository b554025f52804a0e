"""Representation and consistency across models: a planted linear relation between the
probe's cosine and RER is found with a tight R² interval; none planted, none found."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from board_runs import add_probe, write_board_runs

from rest_checks.cli import main
from rest_checks.leaderboard import Run, build_leaderboard, leaderboard_markdown
from rest_checks.probe_relation import fit_probe_relation, mean_probe_cosine
from rest_checks.results_file import load_results


def _points(cosines: list[float], rers: list[float]) -> list[tuple[str, float, int, float]]:
    return [(f"m{i}", c, 30, r) for i, (c, r) in enumerate(zip(cosines, rers, strict=True))]


def test_a_planted_relation_is_found() -> None:
    rng = random.Random(1)
    cosines = [0.3 + 0.05 * i for i in range(12)]
    rers = [0.1 + 1.2 * c + rng.gauss(0, 0.02) for c in cosines]
    fit = fit_probe_relation(_points(cosines, rers))
    assert fit is not None
    assert fit.slope == pytest.approx(1.2, abs=0.1) and fit.intercept == pytest.approx(
        0.1, abs=0.05
    )
    assert fit.r2 > 0.95 and fit.r2_interval[0] > 0.9
    assert fit.r2_interval[0] <= fit.r2 <= fit.r2_interval[1]
    assert fit.describe().startswith("RER = 0.")


@pytest.mark.parametrize("seed", range(3))
def test_no_relation_no_fit_worth_the_name(seed: int) -> None:
    rng = random.Random(seed)
    fit = fit_probe_relation(
        _points([rng.random() for _ in range(12)], [rng.random() for _ in range(12)])
    )
    assert fit is not None and fit.r2 < 0.4 and fit.r2_interval[0] < 0.05


def test_too_few_models_or_nothing_varying_gives_no_fit() -> None:
    assert fit_probe_relation(_points([0.1, 0.2], [0.5, 0.6])) is None
    assert fit_probe_relation(_points([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])) is None
    assert fit_probe_relation(_points([0.2, 0.2, 0.2], [0.5, 0.6, 0.7])) is None


def test_the_mean_cosine_is_the_last_layers_over_the_items_probed() -> None:
    items = [
        {"extra": {"image": {"probe": {"layer_cosine": [0.9, 0.5, 0.2]}}}},
        {"extra": {"image": {"probe": {"layer_cosine": [0.9, 0.5, 0.4]}}}},
        {"extra": {"mixed": {"probe": {"layer_cosine": [0.9, 0.5, 1.0]}}}},  # not the image's
        {"answers": {}},
    ]
    assert mean_probe_cosine({"items": items}) == (pytest.approx(0.3), 2)
    assert mean_probe_cosine({"items": [{"answers": {}}]}) is None


def test_the_leaderboard_shows_the_probe_scatter(tmp_path: Path) -> None:
    """Mock runs given a probe whose cosine rises with their RER."""
    runs = write_board_runs(tmp_path / "runs")
    add_probe(runs)
    board = build_leaderboard([Run(p.stem, load_results(p)) for p in sorted(runs.glob("*.json"))])
    assert board.probe is not None and board.probe.r2 > 0.99
    assert "### Representation and consistency" in leaderboard_markdown(board)
    html = tmp_path / "board.html"
    assert main(["compare", str(runs), "-o", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert 'aria-label="RER against the mean cross-modal cosine of each model"' in page
    assert "last layer (after the final norm)" in page

"""The leaderboard: runs of mock models on the same items, ranked by RER with intervals;
"A is more consistent than B" only where the exact test under Holm shows it; runs of other
items or settings shown apart with why; results of another format refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from board_runs import run_model, write_board_runs

from rest_checks.cli import main
from rest_checks.leaderboard import Run, build_leaderboard, leaderboard_markdown
from rest_checks.models.mock import MockModel
from rest_checks.results_file import ResultsFileError, load_results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_board_runs(tmp_path_factory.mktemp("runs"))


def _load(folder: Path, *names: str) -> list[Run]:
    return [Run(name, load_results(folder / f"{name}.json")) for name in names]


def test_runs_are_ranked_by_rer_with_intervals(runs: Path) -> None:
    board = build_leaderboard(_load(runs, "much-worse", "oracle", "slightly-worse"))
    assert [run.name for run, _, _ in board.rows] == ["oracle", "slightly-worse", "much-worse"]
    rer = {run.name: dict(rates)["RER"] for run, rates, _ in board.rows}
    assert (rer["much-worse"]["k"], rer["much-worse"]["n"]) == (8, 24)
    low, high = rer["much-worse"]["ci95"]
    assert low < 8 / 24 < high
    # Per task source: each broken on 8 of its 12 items.
    _, _, by_task = board.rows[2]
    assert {task: dict(rates)["RER"]["k"] for task, rates in by_task.items()} == {
        "arith": 4,
        "mcq": 4,
    }


def test_a_difference_is_stated_only_where_the_test_shows_it(runs: Path) -> None:
    board = build_leaderboard(_load(runs, "oracle", "oracle-again", "slightly-worse", "much-worse"))
    shown = sorted(p.sentence().split(" (")[0] for p in board.pairs if p.shown)
    assert shown == [
        "oracle is more consistent than much-worse",
        "oracle-again is more consistent than much-worse",
        "slightly-worse is more consistent than much-worse",
    ]
    pair = next(p for p in board.pairs if {p.first, p.second} == {"oracle", "slightly-worse"})
    assert pair.sentence().startswith("oracle and slightly-worse: no difference shown")
    # Holm across the six pairs: the smallest p-value is held to alpha / 6.
    assert min(p.level for p in board.pairs if p.level is not None) == pytest.approx(0.05 / 6)
    same = next(p for p in board.pairs if {p.first, p.second} == {"oracle", "oracle-again"})
    assert (same.only_first, same.only_second, same.shown) == (0, 0, False)


def test_runs_of_other_items_or_settings_are_shown_apart(runs: Path, tmp_path: Path) -> None:
    run_model(tmp_path, "other-seed", MockModel("oracle"), rest_seed=5)
    run_model(tmp_path, "fewer", MockModel("oracle"), rest_n=6)
    board = build_leaderboard(
        [*_load(runs, "oracle", "much-worse"), *_load(tmp_path, "other-seed", "fewer")]
    )
    assert [run.name for run, _, _ in board.rows] == ["oracle", "much-worse"]
    apart = {run.name: "; ".join(reasons) for run, reasons in board.apart}
    assert apart["other-seed"].startswith("seed 5 against 0")
    assert "items of the same id ask other content" in apart["other-seed"]
    assert "12 of the board's 24 items not run" in apart["fewer"]
    text = leaderboard_markdown(board)
    assert "### Not ranked: other items or settings" in text and "- fewer (mock:oracle)" in text


def test_the_command_takes_a_folder_and_writes_html_and_markdown(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, markdown = tmp_path / "board.html", tmp_path / "board.md"
    assert main(["compare", str(runs), "-o", str(html), "--markdown", str(markdown)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## rest-checks leaderboard")
    text = markdown.read_text(encoding="utf-8")
    assert text in out and "### Task source arith" in text
    page = html.read_text(encoding="utf-8")
    assert page.count('<tr class="run">') == 4 * 3  # overall and two task sources
    assert "script-src 'sha256-" in page and "oracle is more consistent than much-worse" in page


def test_two_runs_stay_a_comparison_unless_a_leaderboard_is_asked(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(runs / "oracle.json"), str(runs / "much-worse.json")
    assert main(["compare", a, b]) == 0
    assert "lost 16, gained 0" in capsys.readouterr().out
    assert main(["compare", a, b, "--leaderboard"]) == 0
    assert "is more consistent than" in capsys.readouterr().out


def test_another_results_format_or_one_run_is_refused(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = json.loads((runs / "oracle.json").read_text(encoding="utf-8"))
    old["format"] = 1
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ResultsFileError, match="results format 1, this rest-checks reads"):
        load_results(tmp_path / "old.json")
    assert main(["compare", str(runs / "oracle.json"), str(tmp_path / "old.json"), "x"]) == 2
    assert "old.json: results format 1" in capsys.readouterr().err
    assert main(["compare", str(runs / "oracle.json")]) == 2
    assert "two or more results files, got 1" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty"), str(runs / "oracle.json")]) == 2
    assert "no results file" in capsys.readouterr().err

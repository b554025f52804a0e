"""Visual-token parity: the ladder of resolutions, image accuracy and RER against visual
tokens, and the parity point found where it was planted (and "not reached" where the
image never catches up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from parity_runs import SHARP_EYED, build_parity_run
from suite_runs import make_suite, run_suite

from rest_checks.config import RestSettings, SettingError
from rest_checks.parity import PARITY_DPIS, PARITY_LADDER, parity_line, parity_table
from rest_checks.records import CaseRecord


def _record(item: int, dpi: int, image_right: bool, **kw: Any) -> CaseRecord:
    return CaseRecord(
        key=f"arith-{item:04d}@parity-dpi{dpi}",
        kind="rest_plus",
        item_id=f"arith-{item:04d}",
        task="arith",
        rendering=f"parity-dpi{dpi}",
        expected="7",
        answers={"text": "7", "image": "7" if image_right else "8", "mixed": "7"},
        raw={},
        consistent=image_right,
        **kw,
    )


def _ladder(image_right, n: int = 12, **kw: Any) -> list[CaseRecord]:
    return [_record(i, dpi, image_right(dpi, i), **kw) for dpi in PARITY_DPIS for i in range(n)]


def test_the_ladder_is_eight_resolutions_of_the_default_rendering() -> None:
    assert PARITY_DPIS == (36, 49, 66, 89, 121, 164, 222, 300)
    assert {spec.font for spec in PARITY_LADDER.values()} == {"dejavu-sans"}
    assert {spec.fg for spec in PARITY_LADDER.values()} == {"#000000"}


def test_a_planted_parity_point_is_found() -> None:
    # Every image answer wrong below 121 DPI, right from there on; tokens grow with DPI.
    records = [
        _record(i, dpi, dpi >= 121, n_visual_tokens={"image": dpi * 3})
        for dpi in PARITY_DPIS
        for i in range(12)
    ]
    table = parity_table(records)
    assert table is not None
    assert table["parity_point"] == {"dpi": 121, "visual_tokens": 363.0}
    # Each item's text answer counts once, not once per step.
    assert (table["text_accuracy"]["k"], table["text_accuracy"]["n"]) == (12, 12)
    assert [s["image_accuracy"]["k"] for s in table["steps"]] == [0, 0, 0, 0, 12, 12, 12, 12]
    assert table["tokens_from"] == "visual tokens"
    assert parity_line(table).startswith(
        "parity: image accuracy reaches text accuracy (100.0%) at 121 DPI, 363 visual tokens"
    )


def test_an_image_as_good_as_its_text_reaches_parity_at_the_cheapest_step() -> None:
    table = parity_table(_ladder(lambda dpi, i: True))
    assert table is not None and table["parity_point"] == {"dpi": 36, "visual_tokens": None}


def test_an_image_that_never_catches_up_does_not_reach_parity() -> None:
    # Right on a third of the items at every step: the text (all right) is never reached.
    table = parity_table(_ladder(lambda dpi, i: i % 3 == 0))
    assert table is not None and table["parity_point"] is None
    assert parity_line(table).startswith("parity: not reached up to 300 DPI")


def test_api_tokens_are_the_image_prompt_less_the_texts() -> None:
    usage = {
        "text": {"usage": {"prompt_tokens": 80, "completion_tokens": 5}},
        "image": {"usage": {"prompt_tokens": 700, "completion_tokens": 5}},
    }
    table = parity_table(_ladder(lambda dpi, i: True, n=2, extra=usage))
    assert table is not None and table["steps"][0]["visual_tokens"] == 620.0
    assert table["tokens_from"] == "image prompt tokens less the text's"
    assert parity_table([]) is None


def test_a_run_reports_the_parity_point_in_summary_and_report(tmp_path: Path) -> None:
    results = build_parity_run(tmp_path)
    assert results["parity"]["parity_point"] == {"dpi": 121, "visual_tokens": None}
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="parity-table"' in html and "reaches text accuracy (100.0%) at 121 DPI" in html
    assert "Image accuracy and RER against visual tokens" in html


def test_parity_needs_rest_plus(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="--rest-parity draws the REST\\+ items"):
        RestSettings.from_values({"rest_parity": True}, tmp_path)


@pytest.mark.slow
def test_the_suite_runs_the_ladder_with_rest_parity(pytester: pytest.Pytester) -> None:
    suite = make_suite(pytester, SHARP_EYED)
    args = ["--model", "mock:sharp-eyed", "--rest-suite", "arith", "--rest-n", "3"]
    args += ["--rest-plus", "--rest-plus-n", "3", "--rest-parity", "--rest-json", "r.json"]
    result = run_suite(suite, *args, "-k", "parity or not rest_plus")
    result.stdout.fnmatch_lines(["*parity: image accuracy reaches text accuracy*"])
    results = json.loads((suite.path / "r.json").read_text(encoding="utf-8"))
    assert [s["dpi"] for s in results["parity"]["steps"]] == list(PARITY_DPIS)
    assert results["parity"]["steps"][0]["image_accuracy"]["k"] == 0


def test_the_leaderboard_lists_each_runs_parity_point(tmp_path: Path) -> None:
    from rest_checks.leaderboard import Run, build_leaderboard, leaderboard_markdown

    first = build_parity_run(tmp_path / "a")
    board = build_leaderboard([Run("sharp", first), Run("again", first)])
    text = leaderboard_markdown(board)
    assert "### Visual-token parity" in text and "| sharp | 121 DPI | 100.0% [" in text

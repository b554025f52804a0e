"""The ``rest-checks`` command line: listing items and rendering what a model sees."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from rest_checks.cli import main


def test_items_lists_json_lines_with_id_task_text_and_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["items", "--suite", "soebench", "-n", "5", "--seed", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["id"] for row in rows] == [f"soebench-{i:04d}" for i in range(1, 6)]
    assert all(row["task"] == "soebench" and "=" in row["text"] for row in rows)
    assert all(row["expected"].startswith("A=") for row in rows)


def test_items_are_the_same_for_the_same_seed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["items", "--suite", "arith", "-n", "3", "--seed", "9", "--json"])
    first = capsys.readouterr().out
    main(["items", "--suite", "arith", "-n", "3", "--seed", "9", "--json"])
    assert capsys.readouterr().out == first
    main(["items", "--suite", "arith", "-n", "3", "--seed", "10", "--json"])
    assert capsys.readouterr().out != first


def _size(path: Path) -> tuple[int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return image.size


def test_render_scales_with_dpi_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    low, high, again = tmp_path / "50.png", tmp_path / "200.png", tmp_path / "200b.png"
    assert main(["render", "soebench-0003", "--dpi", "50", "-o", str(low)]) == 0
    assert main(["render", "soebench-0003", "--dpi", "200", "-o", str(high)]) == 0
    assert main(["render", "soebench-0003", "--dpi", "200", "-o", str(again)]) == 0
    (w50, h50), (w200, h200) = _size(low), _size(high)
    assert w200 / w50 == pytest.approx(4, rel=0.05)
    assert h200 / h50 == pytest.approx(4, rel=0.1)
    assert high.read_bytes() == again.read_bytes()


def test_render_mixed_shows_only_the_context(tmp_path: Path) -> None:
    whole, mixed = tmp_path / "image.png", tmp_path / "mixed.png"
    main(["render", "arith-0002", "-o", str(whole)])
    main(["render", "arith-0002", "--modality", "mixed", "-o", str(mixed)])
    assert _size(mixed)[1] < _size(whole)[1]


def test_render_with_font_and_colours(tmp_path: Path) -> None:
    out = tmp_path / "red.png"
    code = main(
        [
            "render",
            "mcq-0001",
            "--suite",
            "mcq",
            "--font",
            "liberation-mono",
            "--fg",
            "#ff0000",
            "--bg",
            "#ffffff",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    with Image.open(out) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20) or []}
    assert (255, 0, 0) in colours and (0, 0, 0) not in colours


def test_unknown_item_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "soebench-9x", "-o", str(tmp_path / "x.png")]) == 2
    assert "no item 'soebench-9x'" in capsys.readouterr().err


def test_bad_colour_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "soebench-0001", "--fg", "red", "-o", str(tmp_path / "x.png")]) == 2
    assert "red" in capsys.readouterr().err


def test_items_from_a_file_say_what_was_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mmlu.csv"
    path.write_text('What is 2+2?,3,4,5,6,B\n"Area, $\\pi r^2$?",a,b,c,d,A\n')
    assert main(["items", "--suite", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "mmlu.csv (mmlu-csv, detected): kept 1 item(s), dropped 1 (latex: 1)" in captured.err


def test_run_hands_every_argument_to_pytest_with_the_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []

    def fake_main(args: list[str]) -> int:
        calls.append(args)
        return 3

    monkeypatch.setattr(pytest, "main", fake_main)
    # Options the run command itself does not know (--model, -n, -k) are pytest's.
    assert main(["run", "--model", "mock:oracle", "-n", "2", "-k", "arith"]) == 3
    assert calls == [
        ["--pyargs", "rest_checks.suite", "--model", "mock:oracle", "-n", "2", "-k", "arith"]
    ]


def test_run_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "run the REST suite with pytest" in capsys.readouterr().out

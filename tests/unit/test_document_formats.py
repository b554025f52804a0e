"""Every reader of a results file or a baseline checks what it was given: the message names
the file, what it is or the format it has, the format expected, and what to do; nothing is
written from a file that was refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rest_checks.baseline_document import BASELINE_FORMAT
from rest_checks.baselines import BaselineError, load_baseline
from rest_checks.cli import main
from rest_checks.models.mock import MockModel
from rest_checks.results_document import RESULTS_FORMAT
from rest_checks.results_file import ResultsFileError, check_results_format, load_results
from tests.unit.report_sample import build_small_run


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small whole run's results file and the baseline it wrote."""
    root = tmp_path_factory.mktemp("formats")
    build_small_run(root, MockModel("oracle"), update=True)
    return root / "results.json", root / "baselines" / "mock_oracle.json"


def _with(path: Path, tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    out = tmp_path / f"changed-{path.name}"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_a_results_file_of_this_format_is_read(written: tuple[Path, Path]) -> None:
    assert load_results(written[0])["format"] == RESULTS_FORMAT


@pytest.mark.parametrize(
    ("found", "way_out"),
    [
        (RESULTS_FORMAT - 1, "run the suite again with --rest-json"),
        (RESULTS_FORMAT + 1, "upgrade rest-checks to read it"),
        ("2", "run the suite again with --rest-json"),
        (None, "run the suite again with --rest-json"),
    ],
)
def test_a_results_file_of_another_format_says_which_and_what_to_do(
    written: tuple[Path, Path], tmp_path: Path, found: object, way_out: str
) -> None:
    path = _with(written[0], tmp_path, format=found)
    with pytest.raises(ResultsFileError) as refused:
        load_results(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: results format {found!r}")
    assert f"this rest-checks reads format {RESULTS_FORMAT}" in message and way_out in message


def test_a_baseline_given_as_results_is_named_a_baseline(written: tuple[Path, Path]) -> None:
    with pytest.raises(ResultsFileError, match=r"a rest-checks baseline \(format 3; "):
        load_results(written[1])


@pytest.mark.parametrize("data", [[], "text", 3])
def test_json_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(ResultsFileError, match=r"^here\.json: not a rest-checks results file"):
        check_results_format(data, "here.json")


def test_every_command_refuses_a_results_file_of_another_format(
    written: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _with(written[0], tmp_path, format=RESULTS_FORMAT - 1)
    good = str(written[0])
    commands = [
        ["report", str(old), "-o", str(tmp_path / "r.html")],
        ["compare", good, str(old), "-o", str(tmp_path / "c.html")],
        ["compare", good, good, str(old), "--markdown", str(tmp_path / "b.md")],
    ]
    for command in commands:
        assert main(command) == 2
        assert f"{old}: results format {RESULTS_FORMAT - 1}" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.html")) and not (tmp_path / "b.md").exists()


def test_a_results_file_given_as_baseline_is_named_a_results_file(
    written: tuple[Path, Path],
) -> None:
    with pytest.raises(
        BaselineError, match=rf"a rest-checks results file \(--rest-json, format {RESULTS_FORMAT}\)"
    ):
        load_baseline(written[0], explicit=True)


@pytest.mark.parametrize(
    ("found", "way_out"),
    [
        (BASELINE_FORMAT - 1, "; write it again with --snapshot-update"),
        (BASELINE_FORMAT + 1, "; upgrade rest-checks to read it, or write it again"),
    ],
)
def test_a_baseline_of_another_format_says_which_and_what_to_do(
    written: tuple[Path, Path], tmp_path: Path, found: int, way_out: str
) -> None:
    path = _with(written[1], tmp_path, format=found)
    with pytest.raises(BaselineError) as refused:
        load_baseline(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: baseline format {found}, this rest-checks reads format")
    assert way_out in message

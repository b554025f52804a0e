"""What a finished run writes for people and CI: the results JSON's report fields, the CSV,
the Markdown step summary, the comparison of two runs, the HTML file (as text; the browser
tests look at it as a person does) and the ``report``/``compare`` commands."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rest_checks.case_rows import case_rows
from rest_checks.cli import main
from rest_checks.compare import compare_results, format_comparison
from rest_checks.config import RestSettings
from rest_checks.html_report import render_report
from rest_checks.models.mock import MockModel
from rest_checks.results_file import ResultsFileError, load_results
from rest_checks.run import RestRun
from rest_checks.step_summary import artifact_page, markdown_summary
from tests.unit.report_sample import (
    ALREADY,
    BROKEN,
    FAILING,
    HOSTILE,
    build_sample_run,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("sample")
    return root, build_sample_run(root, rest_html="report.html", rest_csv="cases.csv")


def test_results_record_each_failed_case_with_its_pages_prompts_and_verdict(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    _, results = sample
    items = {i["key"]: i for i in results["items"] + results["rest_plus_items"]}
    hostile = items[HOSTILE]
    assert hostile["verdict"] == "regression"
    assert set(hostile["images"]) == {"image", "mixed"}
    assert all(Path(p).read_bytes().startswith(b"\x89PNG") for p in hostile["images"].values())
    assert "ANSWER" in hostile["prompts"]["text"]
    assert items["soebench-0001"]["verdict"] == "consistent"
    assert items[ALREADY]["verdict"] == "inconsistent"  # the baseline had it so
    assert "images" not in items["soebench-0001"]  # only failed cases keep their pages
    assert items[f"{HOSTILE}@red-text"]["rendering_detail"].endswith("red on white")
    assert [e["key"] for e in results["errors"]] == [FAILING]
    page = results["invariance"]["pages"]["soebench-0002"]
    assert Path(page).read_bytes().startswith(b"\x89PNG")


def test_case_rows_cover_every_case_once_with_one_verdict(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    _, results = sample
    rows = case_rows(results)
    keys = [r.key for r in rows]
    assert len(keys) == len(set(keys)) == len(results["cases"]) - 1 + len(results["errors"])
    verdicts = {r.key: r.verdict for r in rows}
    assert verdicts[FAILING] == "error"
    assert {k for k, v in verdicts.items() if v == "regression"} == set(
        results["baseline"]["regressions"]
    )


def test_csv_has_one_row_per_case_with_its_answers(sample: tuple[Path, dict[str, Any]]) -> None:
    root, results = sample
    rows = list(csv.DictReader(io.StringIO((root / "cases.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(case_rows(results))
    hostile = next(r for r in rows if r["case"] == HOSTILE)
    assert (hostile["verdict"], hostile["answer_image"], hostile["correct_text"]) == (
        "regression",
        "1000001",
        "true",
    )
    failing = next(r for r in rows if r["case"] == FAILING)
    assert failing["verdict"] == "error" and "HTTP 500" in failing["error"]


def test_step_summary_has_the_headline_the_gate_and_each_regression(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    _, results = sample
    url = artifact_page(
        {
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "7",
        }
    )
    text = markdown_summary(results, "report.html", url)
    assert "**Baseline gate: INCONCLUSIVE**" in text
    assert "| RER |" in text and "| accuracy image |" in text
    assert f"### Regressions ({len(results['baseline']['regressions'])})" in text
    for key in results["baseline"]["regressions"]:
        assert f"`report.html#case-{key}`" in text
    assert "(https://github.com/o/r/actions/runs/7#artifacts)" in text
    assert "<br>where the loss is: in no one level of task source, DPI, colour" in text
    assert artifact_page({}) is None


def test_step_summary_escapes_markdown_in_values(sample: tuple[Path, dict[str, Any]]) -> None:
    results = {**sample[1], "model": "evil|model <b>x</b>"}
    text = markdown_summary(results)
    assert "evil\\|model \\<b\\>x\\</b\\>" in text


def test_html_escapes_replies_and_allows_only_its_own_script(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    root, results = sample
    html = (root / "report.html").read_text(encoding="utf-8")
    assert html == render_report(results)  # the run's report is the saved results' report
    calls = results["calls"]
    said = (
        f"{calls['model']} to the model, {calls['cache']} from the disk cache, "
        f"{calls['memory']} read back, {calls['retried']} retried, {calls['failed']} failed"
    )
    assert said in html  # what happened to the requests, as the terminal says it
    assert "<script>window.__restInjected" not in html
    assert "&lt;script&gt;window.__restInjected" in html
    assert html.count("<script>") == 1
    assert "script-src 'sha256-" in html
    # Opens offline: every reference is inside the file (a data URL or an anchor).
    assert re.findall(r'(?:src|href)="(?!data:image/png;base64,|#)[^"]*"', html) == []


def test_comparison_counts_lost_and_gained_on_shared_items(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    _, after = sample
    before = json.loads(json.dumps(after))
    for key in before["cases"]:
        before["cases"][key] = True
    comparison = compare_results(before, after, ("before", "after"))
    lost = sorted(k for k, v in after["cases"].items() if not v and "@" not in k)
    assert list(comparison.items.lost_ids) == lost == sorted({*BROKEN, ALREADY})
    assert comparison.items.gained == 0
    assert comparison.items.p_value == pytest.approx(0.25)  # 3 lost, 0 gained: exact McNemar
    lines = format_comparison(comparison)
    assert any("lost 3, gained 0, exact McNemar p=0.25" in line for line in lines)
    red = next(line for line in lines if "red-text" in line)
    # soebench-0001 and arith-0001 were perturbed; arith-0001 broke in both runs
    assert red.split()[1:] == ["50.0%", "(1/2)", "50.0%", "(1/2)"]


def test_comparison_leaves_out_cases_whose_content_differs(
    sample: tuple[Path, dict[str, Any]],
) -> None:
    _, results = sample
    other = json.loads(json.dumps(results))
    other["fingerprints"]["soebench-0001"] = "another-item"
    comparison = compare_results(results, other)
    assert comparison.different_content == ["soebench-0001"]
    assert comparison.items.n_common == len([k for k in results["cases"] if "@" not in k]) - 1


def test_report_and_compare_commands_write_html(
    sample: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = sample
    assert main(["report", str(root / "results.json"), "-o", str(tmp_path / "r.html")]) == 0
    assert "data:image/png;base64," in (tmp_path / "r.html").read_text(encoding="utf-8")
    results = str(root / "results.json")
    assert main(["compare", results, results, "-o", str(tmp_path / "c.html")]) == 0
    out = capsys.readouterr().out
    assert "lost 0, gained 0" in out and "no case changed" in out
    assert "No case changed." in (tmp_path / "c.html").read_text(encoding="utf-8")


def test_report_command_names_file_and_line_of_a_broken_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "results.json"
    broken.write_text('{\n  "model": "x",\n  oops\n}\n', encoding="utf-8")
    assert main(["report", str(broken), "-o", str(tmp_path / "r.html")]) == 2
    assert f"{broken}:3: not valid JSON" in capsys.readouterr().err
    not_results = tmp_path / "other.json"
    not_results.write_text("{}", encoding="utf-8")
    with pytest.raises(ResultsFileError, match="not a rest-checks results file"):
        load_results(not_results)
    assert not (tmp_path / "r.html").exists()


def test_a_report_that_cannot_be_written_loses_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a folder where the HTML file should go
    settings = RestSettings.from_values(
        {
            "rest_model": "mock:oracle",
            "rest_suite": ("arith",),
            "rest_n": 2,
            "rest_no_cache": True,
            "rest_json": "results.json",
            "rest_html": "taken",
            "rest_csv": "cases.csv",
        },
        tmp_path,
        update_baseline=True,
    )
    run = RestRun(settings, MockModel("oracle"))
    for item in run.items():
        run.cross_modal(item)
    outcome = run.finish()
    assert any(line.startswith("HTML report NOT written to") for line in outcome.lines)
    assert (tmp_path / "results.json").is_file() and (tmp_path / "cases.csv").is_file()
    assert (tmp_path / "baselines" / "mock_oracle.json").is_file()
    assert not outcome.failed

"""Published benchmark files load as they are, and their items are the files' rows.

The samples live outside the repository (third-party data, never copied here): in
``../shared/data/real/`` next to the checkout, or wherever ``REST_REAL_DATA`` points.
Each file is read again here independently (the csv and json modules, a regular
expression for ARC's inline options) and compared with what the loader made of it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from rest_checks.items.base import OPTION_LETTERS, Item
from rest_checks.items.files import LoadResult, load_item_file

REPO = Path(__file__).resolve().parents[2]
REAL_DIR = Path(os.environ.get("REST_REAL_DATA", REPO.parent / "shared" / "data" / "real"))

pytestmark = pytest.mark.skipif(
    not REAL_DIR.is_dir(),
    reason=f"samples of published benchmark files not found at {REAL_DIR} (set REST_REAL_DATA)",
)

MMLU_CSV = [
    "high_school_physics_test.csv",
    "high_school_mathematics_test.csv",
    "professional_law_test.csv",
    "college_physics_val.csv",
]
ARC_JSONL = ["ARC-Challenge-Test.jsonl", "ARC-Easy-Dev.jsonl"]
# Items per file in the end-to-end run: every layout, kept small (rendering is the cost).
PER_FILE = 3


def normal(text: str) -> str:
    """The normalisation the loader promises, written out again."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return unicodedata.normalize("NFC", text).strip()


def safe_id(file_id: str) -> str:
    """Ids as the loader documents them: characters outside [A-Za-z0-9_.-] become _."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", file_id)


def by_row(result: LoadResult) -> dict[int, Item]:
    """Kept items by their 1-based row number (ids ``<stem>-NNNN``)."""
    return {int(item.id.rsplit("-", 1)[1]): item for item in result.items}


def assert_item_is(item: Item, stem: str, options: list[str], answer: str) -> None:
    assert item.context == normal(stem)
    assert item.options == tuple(normal(o) for o in options)
    assert item.expected == answer
    assert item.answer_type == "choice"
    assert "\r" not in item.full_text()


@pytest.mark.parametrize("name", MMLU_CSV)
def test_original_mmlu_csv_items_are_its_rows(name: str) -> None:
    path = REAL_DIR / name
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    result = load_item_file(path)
    assert result.layout == "mmlu-csv" and result.detected
    assert len(result.items) + result.n_dropped == len(rows)
    kept = by_row(result)
    for number, row in enumerate(rows, start=1):
        assert len(row) == 6
        if number in kept:
            assert_item_is(kept[number], row[0], row[1:5], row[5])
            assert kept[number].subject == name.rsplit("_", 1)[0]
    assert len(kept) == len(result.items)


def test_crlf_inside_quoted_mmlu_fields_becomes_lf() -> None:
    path = REAL_DIR / "college_physics_val.csv"
    assert b"\r\n" in path.read_bytes()
    result = load_item_file(path)
    assert any("\n" in item.context for item in result.items)
    assert all("\r" not in item.full_text() for item in result.items)


@pytest.mark.parametrize("name", ARC_JSONL)
def test_arc_jsonl_items_are_its_lines(name: str) -> None:
    path = REAL_DIR / name
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    result = load_item_file(path)
    assert result.layout == "arc-jsonl"
    assert len(result.items) + result.n_dropped == len(records)
    kept = {item.id: item for item in result.items}
    for record in records:
        if safe_id(record["id"]) not in kept:
            continue
        choices = sorted(record["question"]["choices"], key=lambda c: c["label"])
        assert_item_is(
            kept[safe_id(record["id"])],
            record["question"]["stem"],
            [c["text"] for c in choices],
            record["answerKey"],
        )


def test_arc_jsonl_keeps_three_and_five_choice_items() -> None:
    result = load_item_file(REAL_DIR / "ARC-Challenge-Test.jsonl")
    assert {len(item.options) for item in result.items} >= {3, 4, 5}


def _arc_csv_options(question: str) -> tuple[str, list[str], list[str]]:
    parts = re.split(r" ?\(([A-E]|[1-5])\) ", question)
    return parts[0], parts[1::2], parts[2::2]


def test_arc_csv_items_are_its_rows_with_numeric_and_e_keys() -> None:
    path = REAL_DIR / "ARC-Challenge-Dev.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = load_item_file(path)
    assert result.layout == "arc-csv"
    assert len(result.items) == len(rows)
    kept = {item.id: item for item in result.items}
    keys = set()
    for row in rows:
        stem, labels, texts = _arc_csv_options(row["question"])
        key = row["AnswerKey"]
        keys.add(key)
        assert labels == [
            str(i + 1) if key.isdigit() else OPTION_LETTERS[i] for i in range(len(labels))
        ]
        answer = OPTION_LETTERS[int(key) - 1] if key.isdigit() else key
        assert_item_is(kept[safe_id(row["questionID"])], stem, texts, answer)
    assert {"1", "2", "4", "E"} <= keys


def test_the_published_control_character_is_removed_and_counted() -> None:
    path = REAL_DIR / "ARC-Challenge-Dev.csv"
    assert "\x02" in path.read_text(encoding="utf-8")
    result = load_item_file(path)
    assert result.control_chars == path.read_text(encoding="utf-8").count("\x02")
    item = next(i for i in result.items if "AgNO3" in i.context)
    assert "\x02" not in item.full_text()
    assert "AgNO3 + NaCl" in item.context
    assert "removed 2 control character(s)" in result.message


def test_gsm8k_items_are_number_items_without_the_worked_solution() -> None:
    path = REAL_DIR / "gsm8k_test.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = load_item_file(path)
    assert result.layout == "gsm8k"
    assert len(result.items) + result.n_dropped == len(records)
    kept = by_row(result)
    for number, record in enumerate(records, start=1):
        if number not in kept:
            continue
        item = kept[number]
        final = record["answer"].split("####")[-1].strip().replace(",", "")
        assert item.expected == str(int(final))
        assert item.answer_type == "number" and item.options == ()
        question = normal(record["question"])
        assert question.startswith(item.context) and question.endswith(item.question)
        assert not question[len(item.context) : len(question) - len(item.question)].strip()
        solution = record["answer"].split("####")[0]
        assert solution.splitlines()[0].strip() not in item.full_text()
        assert "<<" not in item.full_text()


def test_hf_mmlu_export_items_are_its_rows_with_subjects() -> None:
    path = REAL_DIR / "mmlu_hf_export_sample.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = load_item_file(path)
    assert result.layout == "hf-mmlu"
    assert len(result.items) + result.n_dropped == len(records)
    kept = by_row(result)
    for number, record in enumerate(records, start=1):
        if number in kept:
            item = kept[number]
            assert_item_is(item, record["question"], record["choices"], "ABCD"[record["answer"]])
            assert item.subject == record["subject"]


def _real_files() -> list[Path]:
    if not REAL_DIR.is_dir():
        return []
    return sorted(p for p in REAL_DIR.iterdir() if p.suffix in (".csv", ".jsonl", ".json", ".tsv"))


def test_every_sample_loads_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from rest_checks.cli import main

    files = _real_files()
    assert files
    for path in files:
        assert main(["items", f"--suite={path}", "-n", "0", "--json"]) == 0
        out, err = capsys.readouterr()
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == len(load_item_file(path).items) > 0
        assert f"{path.name} (" in err and "kept" in err


def test_an_mmlu_directory_is_one_source_sampled_across_subjects(tmp_path: Path) -> None:
    from rest_checks.items.suites import load_source

    folder = tmp_path / "test"
    folder.mkdir()
    for name in MMLU_CSV:
        (folder / name).write_bytes((REAL_DIR / name).read_bytes())
    loads: list[LoadResult] = []
    items = load_source(str(folder), 8, 3, loads)
    (load,) = loads
    assert load.files == 4 and len(load.items) == sum(
        len(load_item_file(folder / n).items) for n in MMLU_CSV
    )
    assert len(items) == 8
    assert len({load.subjects[i.id] for i in items}) >= 3
    assert items == load_source(str(folder), 8, 3)


def _results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_mock_oracle_passes_on_every_sample(pytester: pytest.Pytester) -> None:
    files = _real_files()
    pytester.makeconftest((REPO / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_rest_suite=(REPO / "tests" / "test_rest_suite.py").read_text())
    suite = ",".join(str(p) for p in files)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:xdist",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-q",
        "--model",
        "mock:oracle",
        f"--rest-suite={suite}",
        "--rest-n",
        str(PER_FILE),
        "--rest-json",
        "out.json",
    )
    data = _results(pytester.path / "out.json")
    expected = sum(min(PER_FILE, len(load_item_file(p).items)) for p in files)
    result.assert_outcomes(passed=expected)
    assert data["metrics"]["rer"] == 1.0
    assert [Path(s["path"]).name for s in data["sources"]] == [p.name for p in files]
    assert all(s["used"] == min(PER_FILE, s["kept"]) for s in data["sources"])
    assert any(item.get("subject") == "high_school_physics" for item in data["items"])
    # The kept and dropped counts are in the summary even under -q.
    physics = load_item_file(REAL_DIR / "high_school_physics_test.csv")
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(physics.dropped.items()))
    result.stdout.fnmatch_lines(
        [
            f"*items from high_school_physics_test.csv (mmlu-csv): kept {len(physics.items)}, "
            f"dropped {physics.n_dropped} ({reasons})*"
        ]
    )

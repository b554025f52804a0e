"""Each published layout's edge cases, built here: detection, normalisation, errors."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import pytest

from rest_checks.items.files import (
    LAYOUT_NAMES,
    ItemFileError,
    LoadResult,
    clean_item_text,
    load_item_dir,
    load_item_file,
    stratified_sample,
)
from rest_checks.items.suites import load_source

ROWS = [
    ("What is the Sun?", "A planet", "A star", "A moon", "A comet", "B"),
    ("Which, with a comma?", "w", "x", "y", "z", "D"),
]


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _jsonl(path: Path, records: list[object]) -> Path:
    return _write(path, "\n".join(json.dumps(r) for r in records) + "\n")


def _csv_line(fields: tuple[str, ...], sep: str = ",") -> str:
    return sep.join(f'"{f}"' if sep in f else f for f in fields)


def _assert_two_rows(path: Path, layout: str = "mmlu-csv") -> None:
    result = load_item_file(path)
    assert result.layout == layout
    first, second = result.items
    assert (first.context, first.options, first.expected) == ("What is the Sun?", ROWS[0][1:5], "B")
    assert (second.context, second.expected) == ("Which, with a comma?", "D")


# --- MMLU-style CSV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("plain.csv", "".join(_csv_line(r) + "\n" for r in ROWS)),
        ("mirror.csv", "input,A,B,C,D,target\n" + "".join(_csv_line(r) + "\n" for r in ROWS)),
        (
            "pandas.csv",
            ",question,A,B,C,D,answer\n"
            + "".join(f"{i}," + _csv_line(r) + "\n" for i, r in enumerate(ROWS)),
        ),
        ("index.csv", "".join(f"{i}," + _csv_line(r) + "\n" for i, r in enumerate(ROWS))),
        ("trailing.csv", "".join(_csv_line(r) + ",\n" for r in ROWS)),
        ("tabs.tsv", "".join("\t".join(r) + "\n" for r in ROWS)),
        ("tabs.csv", "".join("\t".join(r) + "\n" for r in ROWS)),
        ("crlf.csv", "".join(_csv_line(r) + "\r\n" for r in ROWS)),
    ],
)
def test_mmlu_csv_variants_load_the_same_rows(tmp_path: Path, name: str, text: str) -> None:
    _assert_two_rows(_write(tmp_path / name, text))


def test_mmlu_csv_header_columns_are_found_by_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "named.csv",
        "id,subject,question,A,B,C,answer,extra\nq-1,astronomy,Sun?,planet,star,moon,b,x\n",
    )
    (item,) = load_item_file(path).items
    assert (item.id, item.subject, item.options, item.expected) == (
        "q-1",
        "astronomy",
        ("planet", "star", "moon"),
        "B",
    )


def test_mmlu_csv_with_five_and_ten_options(tmp_path: Path) -> None:
    ten = tuple(f"o{i}" for i in range(10))
    path = _write(tmp_path / "wide.csv", _csv_line(("Pick?", *ten, "J")) + "\n")
    (item,) = load_item_file(path).items
    assert item.options == ten and item.expected == "J"
    assert item.options_text().splitlines()[-1] == "J. o9"


def test_mmlu_csv_subject_comes_from_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "college_physics_val.csv", _csv_line(ROWS[0]) + "\n")
    assert load_item_file(path).items[0].subject == "college_physics"


def test_mmlu_csv_crlf_inside_a_quoted_field_becomes_lf(tmp_path: Path) -> None:
    path = _write(tmp_path / "multi.csv", '"Line one\r\nline two?",a,b,c,d,A\r\n')
    (item,) = load_item_file(path).items
    assert item.context == "Line one\nline two?"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('Q?,a,b,c,d,A\n\n"Multi\nline",a,b,c,d,K\n', 3, "bad answer 'K'"),
        ("Q?,a,b,c,d,A\nQ?,a,b,c,d,e,A\n", 2, "expected 6 columns like the first record, got 7"),
        ("Q?,a,b,c,E\n", 1, "'E' is not among the 3 options (ABC)"),
        ("Q?,A\n", 1, "expected question, 2 to 10 options and an answer letter, got 2"),
        ("question,answer,A\nQ?,A,x\n", 1, "option columns A"),
    ],
)
def test_mmlu_csv_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ItemFileError, match=f"bad.csv:{line}: .*{re.escape(fragment)}") as info:
        load_item_file(path)
    assert info.value.line == line


# --- ARC CSV -------------------------------------------------------------------------------

ARC_HEADER = (
    "questionID,originalQuestionID,totalPossiblePoint,AnswerKey,isMultipleChoiceQuestion,"
    "includesDiagram,examName,schoolGrade,year,question,subject,category\n"
)


def _arc_csv_row(qid: str, key: str, question: str) -> str:
    return f'{qid},1,1,{key},1,0,Exam,8,2014,"{question}",,Dev\n'


def test_arc_csv_letter_number_and_e_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ARC-Dev.csv",
        ARC_HEADER
        + _arc_csv_row("q1", "C", "Which is warm? (A) ice (B) snow (C) fire (D) hail")
        + _arc_csv_row("q2", "2", "A solid has (1) no shape (2) a shape (3) no volume (4) gas")
        + _arc_csv_row(
            "q3", "E", "Not in the abdomen? (A) liver (B) kidney (C) stomach (D) bladder (E) heart"
        ),
    )
    result = load_item_file(path)
    assert result.layout == "arc-csv"
    q1, q2, q3 = result.items
    assert (q1.context, q1.options, q1.expected) == (
        "Which is warm?",
        ("ice", "snow", "fire", "hail"),
        "C",
    )
    assert (q2.options[1], q2.expected) == ("a shape", "B")
    assert (len(q3.options), q3.expected, q3.options[4]) == (5, "E", "heart")


@pytest.mark.parametrize(
    ("key", "question", "fragment"),
    [
        ("2", "Pick (A) one (B) two", "does not match the letter labels"),
        ("C", "Pick (A) one (B) two", "'C' is not among the 2 options"),
        ("A", "Pick one or two", "no inline options"),
    ],
)
def test_arc_csv_errors_name_the_line(
    tmp_path: Path, key: str, question: str, fragment: str
) -> None:
    path = _write(
        tmp_path / "arc.csv",
        ARC_HEADER + _arc_csv_row("q1", "A", "Ok? (A) a (B) b") + _arc_csv_row("q2", key, question),
    )
    with pytest.raises(ItemFileError, match=f"arc.csv:3: .*{re.escape(fragment)}"):
        load_item_file(path)


# --- JSON layouts --------------------------------------------------------------------------


def test_hf_mmlu_rows(tmp_path: Path) -> None:
    record = {"question": "Q?", "choices": ["a", "b", "c", "d"], "answer": 3, "subject": "law"}
    result = load_item_file(_jsonl(tmp_path / "hf.jsonl", [record]))
    (item,) = result.items
    assert (result.layout, item.expected, item.subject) == ("hf-mmlu", "D", "law")


def test_hf_mmlu_answer_may_be_an_index_string_or_a_letter(tmp_path: Path) -> None:
    rows = [{"question": "Q?", "choices": ["a", "b", "c"], "answer": a} for a in ("2", "b")]
    items = load_item_file(_jsonl(tmp_path / "hf.jsonl", rows)).items
    assert [i.expected for i in items] == ["C", "B"]


def test_hf_mmlu_answer_out_of_range_is_an_error(tmp_path: Path) -> None:
    record = {"question": "Q?", "choices": ["a", "b"], "answer": 2}
    with pytest.raises(ItemFileError, match=r"hf.jsonl:2: answer 2 is not among the 2 options"):
        load_item_file(_jsonl(tmp_path / "hf.jsonl", [{**record, "answer": 0}, record]))


def test_hf_arc_rows_with_numeric_labels(tmp_path: Path) -> None:
    record = {
        "id": "Mercury_1",
        "question": "Q?",
        "choices": {"text": ["x", "y", "z"], "label": ["1", "2", "3"]},
        "answerKey": "3",
    }
    result = load_item_file(_jsonl(tmp_path / "hfarc.jsonl", [record]))
    (item,) = result.items
    assert (result.layout, item.id, item.options, item.expected) == (
        "hf-arc",
        "Mercury_1",
        ("x", "y", "z"),
        "C",
    )


def test_mmlu_pro_rows_with_ten_options(tmp_path: Path) -> None:
    options = [f"option {i}" for i in range(10)]
    record = {
        "question_id": 70,
        "question": "Q?",
        "options": options,
        "answer": "J",
        "answer_index": 9,
        "category": "law",
    }
    result = load_item_file(_jsonl(tmp_path / "pro.jsonl", [record]))
    (item,) = result.items
    assert (result.layout, item.id, item.expected, item.subject) == ("mmlu-pro", "70", "J", "law")
    assert len(item.options) == 10


def test_mmlu_pro_answer_and_index_must_agree(tmp_path: Path) -> None:
    record = {"question": "Q?", "options": ["a", "b", "c"], "answer": "A", "answer_index": 2}
    with pytest.raises(
        ItemFileError, match=r"pro\.jsonl:1: 'answer' 'A' disagrees with 'answer_index' 2"
    ):
        load_item_file(_jsonl(tmp_path / "pro.jsonl", [record]))


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        (" 18", "18"),
        (" 1,234", "1234"),
        ("-7", "-7"),
        (" 2.50", "5/2"),
        ("$5", "5"),
        (" 3/4", "3/4"),
    ],
)
def test_gsm8k_final_answers(tmp_path: Path, final: str, expected: str) -> None:
    record = {
        "question": "Ann has 3 pens. She buys 4 more. How many pens?",
        "answer": f"3+4=<<3+4=7>>7\n####{final}",
    }
    (item,) = load_item_file(_jsonl(tmp_path / "gsm.jsonl", [record])).items
    assert (item.task, item.answer_type, item.expected) == ("gsm", "number", expected)
    assert (item.context, item.question) == ("Ann has 3 pens. She buys 4 more.", "How many pens?")
    assert "<<" not in item.full_text()


def test_gsm_symbolic_ids_come_from_id_and_instance(tmp_path: Path) -> None:
    records = [
        {"id": 5, "instance": i, "question": "How many?", "answer": f"#### {i}", "original_id": 9}
        for i in range(2)
    ]
    items = load_item_file(_jsonl(tmp_path / "symbolic.jsonl", records)).items
    assert [i.id for i in items] == ["5-0", "5-1"]
    assert items[0].context == "How many?" and items[0].question == ""


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("no final mark", "no final answer after '####'"),
        ("#### about ten", "bad final answer ' about ten'"),
    ],
)
def test_gsm8k_errors_name_the_line(tmp_path: Path, answer: str, fragment: str) -> None:
    records = [{"question": "Q?", "answer": "#### 1"}, {"question": "Q?", "answer": answer}]
    with pytest.raises(ItemFileError, match=f"gsm.jsonl:2: .*{re.escape(fragment)}"):
        load_item_file(_jsonl(tmp_path / "gsm.jsonl", records), "gsm8k")


def test_json_array_file_with_lines_in_errors(tmp_path: Path) -> None:
    good = {"question": "Q?", "choices": ["a", "b"], "answer": 1}
    text = "[\n  " + json.dumps(good) + ",\n  " + json.dumps({**good, "answer": 5}) + "\n]\n"
    path = _write(tmp_path / "rows.json", text)
    with pytest.raises(ItemFileError, match=r"rows\.json:3: answer 5"):
        load_item_file(path)
    _write(path, "[" + json.dumps(good) + "]")
    assert load_item_file(path).items[0].expected == "B"


def test_unknown_layout_lists_every_supported_one_with_an_example(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "odd.jsonl", [{"prompt": "Q?", "label": 1}])
    with pytest.raises(
        ItemFileError, match=r"odd.jsonl:1: unknown layout \(keys: label, prompt\)"
    ) as info:
        load_item_file(path)
    message = str(info.value)
    for name in LAYOUT_NAMES:
        assert f"  {name}: " in message
    assert '"answer": "worked solution ... #### 42"' in message


def test_a_csv_in_no_known_layout_lists_the_supported_ones(tmp_path: Path) -> None:
    path = _write(tmp_path / "odd.csv", "\nname,score,team\nAnn,3,red\n")
    with pytest.raises(ItemFileError, match=r"odd\.csv:2: expected question, .* got 3") as info:
        load_item_file(path)
    assert "(read as mmlu-csv); supported layouts" in str(info.value)
    assert "  arc-csv: " in str(info.value)
    # A later bad row is that row's error only.
    _write(path, "Q?,a,b,c,d,A\nQ?,a,b,c,d,Z\n")
    with pytest.raises(ItemFileError, match=r"odd\.csv:2: bad answer 'Z'") as info:
        load_item_file(path)
    assert "supported layouts" not in str(info.value)


def test_a_file_mixing_layouts_names_the_odd_line(tmp_path: Path) -> None:
    records = [
        {"question": "Q?", "choices": ["a", "b"], "answer": 1},
        {"question": "Q?", "answer": "#### 3"},
    ]
    with pytest.raises(
        ItemFileError, match=r"mix\.jsonl:2: record in gsm8k layout in a file of hf-mmlu layout"
    ):
        load_item_file(_jsonl(tmp_path / "mix.jsonl", records))


def test_format_override_reads_a_file_detection_would_not(tmp_path: Path) -> None:
    # A .txt file of tab-separated rows: detected as CSV, named explicitly here.
    path = _write(tmp_path / "rows.txt", "".join("\t".join(r) + "\n" for r in ROWS))
    result = load_item_file(path, "mmlu-csv")
    assert (result.layout, result.detected, len(result.items)) == ("mmlu-csv", False, 2)
    assert "--rest-format" in result.message
    with pytest.raises(ItemFileError, match=r"rows\.txt:1: missing key 'choices'"):
        load_item_file(_jsonl(tmp_path / "rows.txt", [{"question": "Q?", "answer": 1}]), "hf-mmlu")
    with pytest.raises(ItemFileError, match="unknown layout 'mmlu'"):
        load_item_file(path, "mmlu")


# --- normalisation -------------------------------------------------------------------------


def test_normalisation_is_crlf_controls_and_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Čerenkov café")
    assert decomposed != "Čerenkov café"
    text = f" {decomposed}\r\nline\rtwo\x02\tend\x85\x00 "
    assert clean_item_text(text) == "Čerenkov café\nline\ntwo\tend"


def test_every_text_field_is_normalised_and_controls_counted(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "é")
    path = _write(tmp_path / "ctl.csv", f'"Q\x02 {decomposed}?",a\x01,b,c,d,A\n')
    result = load_item_file(path)
    (item,) = result.items
    assert item.context == "Q é?" and item.options[0] == "a"
    assert result.control_chars == 2 and "removed 2 control character(s)" in result.message


# --- a directory of MMLU CSVs ---------------------------------------------------------------


def _mmlu_dir(tmp_path: Path, sizes: dict[str, int]) -> Path:
    folder = tmp_path / "test"
    folder.mkdir()
    for subject, size in sizes.items():
        rows = "".join(f"{subject} question {i}?,a,b,c,d,{'ABCD'[i % 4]}\n" for i in range(size))
        _write(folder / f"{subject}_test.csv", rows)
    _write(folder / "README.txt", "not an item file")
    return folder


def test_a_directory_is_one_source_with_subjects(tmp_path: Path) -> None:
    folder = _mmlu_dir(tmp_path, {"anatomy": 3, "virology": 2})
    result = load_item_dir(folder)
    assert (result.files, result.layout, len(result.items)) == (2, "mmlu-csv", 5)
    assert {item.subject for item in result.items} == {"anatomy", "virology"}
    assert result.subjects["virology_test-0002"] == "virology"


def test_directory_sample_is_stratified_and_seeded(tmp_path: Path) -> None:
    folder = _mmlu_dir(tmp_path, {"anatomy": 10, "law": 20, "physics": 30})
    items = load_source(str(folder), 6, 0)
    per_subject = {s: sum(i.subject == s for i in items) for s in ("anatomy", "law", "physics")}
    assert per_subject == {"anatomy": 1, "law": 2, "physics": 3}
    assert load_source(str(folder), 6, 0) == items
    loads: list[LoadResult] = []
    load_source(str(folder), 6, 0, loads)
    assert (loads[0].used, len(loads[0].items)) == (6, 60)
    assert loads[0].message.endswith("kept 60 item(s), dropped 0; using 6")
    samples = {tuple(i.id for i in load_source(str(folder), 6, seed)) for seed in range(5)}
    assert len(samples) > 1
    assert len(load_source(str(folder), 0, 0)) == 60


def test_stratified_sample_never_exceeds_n_and_keeps_input_order() -> None:
    from rest_checks.items.base import Item

    rng = random.Random(1)
    items = [Item(f"i{k:03d}", "mcq", "c", "", "A", "choice", ("a", "b")) for k in range(97)]
    subjects = {item.id: f"s{rng.randrange(7)}" for item in items}
    for n in (1, 5, 13, 96):
        sample = stratified_sample(items, n, 4, subjects)
        assert len(sample) == n
        assert [items.index(i) for i in sample] == sorted(items.index(i) for i in sample)

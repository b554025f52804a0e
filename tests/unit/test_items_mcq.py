"""Multiple-choice loaders (MMLU CSV, ARC and our JSONL), filters, errors, the built-in set."""

from __future__ import annotations

import json
import re
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from rest_checks.items.builtin_mcq import BUILTIN_MCQ_PATH, builtin_mcq, load_builtin_mcq
from rest_checks.items.mcq import ItemFileError, has_latex, load_mcq_file

PYTEST_ID = re.compile(r"[A-Za-z0-9_.-]+")


def _write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _arc(i: int, labels: str = "ABCD", key: str = "B") -> dict[str, object]:
    return {
        "id": f"Mercury_{i}",
        "question": {
            "stem": f"Question number {i} about rocks?",
            "choices": [{"label": lab, "text": f"choice {lab}"} for lab in labels],
        },
        "answerKey": key,
    }


def _own(i: int, **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "question": f"Own question {i}?",
        "options": ["red", "green", "blue"],
        "answer": "C",
    }
    record.update(extra)
    return record


# --- MMLU CSV ----------------------------------------------------------------------------


def test_mmlu_csv_rows_become_items(tmp_path):
    path = tmp_path / "astronomy_test.csv"
    path.write_text(
        'What is the Sun?,A planet,A star,A moon,A comet,B\n"Which, with a comma?",w,x,y,z,d\n',
        encoding="utf-8",
    )
    result = load_mcq_file(path)
    assert [item.id for item in result.items] == ["astronomy_test-0001", "astronomy_test-0002"]
    first, second = result.items
    assert first.task == "mcq"
    assert first.answer_type == "choice"
    assert first.context == "What is the Sun?"
    assert first.question == ""
    assert first.options == ("A planet", "A star", "A moon", "A comet")
    assert first.expected == "B"
    assert second.context == "Which, with a comma?"
    assert second.expected == "D"
    assert result.dropped == {}
    assert result.subjects["astronomy_test-0001"] == "astronomy"
    assert first.source.endswith("astronomy_test.csv:1")


def test_mmlu_csv_error_names_the_start_line_of_a_multiline_row(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('q1,a,b,c,d,A\n"two\nline question",a,b,c,d,A\nq3,a,b,c,E\n', encoding="utf-8")
    with pytest.raises(ItemFileError) as error:
        load_mcq_file(path)
    assert error.value.line == 4
    assert f"{path}:4:" in str(error.value)
    assert "6 columns" in str(error.value)


def test_mmlu_csv_bad_answer_letter_is_reported_with_its_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("q1,a,b,c,d,A\nq2,a,b,c,d,F\n", encoding="utf-8")
    with pytest.raises(ItemFileError, match=r"m\.csv:2: answer 'F' is not among the 4 options"):
        load_mcq_file(path)


def test_mmlu_csv_header_row_is_skipped(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("question,A,B,C,D,answer\nq,a,b,c,d,c\n", encoding="utf-8")
    (item,) = load_mcq_file(path).items
    assert item.expected == "C"
    assert item.source.endswith(":2")


# --- ARC JSONL ---------------------------------------------------------------------------


def test_arc_jsonl_with_letter_labels(tmp_path):
    path = _write_jsonl(tmp_path / "arc.jsonl", [_arc(1), _arc(2, key="D")])
    result = load_mcq_file(path)
    assert [item.id for item in result.items] == ["Mercury_1", "Mercury_2"]
    assert result.items[0].options == ("choice A", "choice B", "choice C", "choice D")
    assert [item.expected for item in result.items] == ["B", "D"]
    assert result.items[0].context == "Question number 1 about rocks?"


def test_arc_numeric_labels_become_letters(tmp_path):
    path = _write_jsonl(tmp_path / "arc.jsonl", [_arc(1, labels="1234", key="3")])
    (item,) = load_mcq_file(path).items
    assert item.expected == "C"
    assert item.options == ("choice 1", "choice 2", "choice 3", "choice 4")


def test_arc_five_choices_and_out_of_order_labels(tmp_path):
    record = _arc(1, labels="ECABD", key="E")
    path = _write_jsonl(tmp_path / "arc.jsonl", [record])
    (item,) = load_mcq_file(path).items
    assert item.options == ("choice A", "choice B", "choice C", "choice D", "choice E")
    assert item.expected == "E"


def test_arc_answer_key_not_among_labels_is_an_error(tmp_path):
    path = _write_jsonl(tmp_path / "arc.jsonl", [_arc(1), _arc(2, labels="ABC", key="D")])
    with pytest.raises(ItemFileError) as error:
        load_mcq_file(path)
    assert error.value.line == 2
    assert "answerKey" in error.value.reason


def test_arc_ids_are_made_pytest_friendly_and_unique(tmp_path):
    first, second = _arc(1), _arc(2)
    first["id"] = "NYSEDREGENTS/2015 #3"
    second["id"] = "NYSEDREGENTS/2015 #3"
    path = _write_jsonl(tmp_path / "arc.jsonl", [first, second])
    with pytest.raises(ItemFileError, match=r"arc\.jsonl:2: duplicate item id"):
        load_mcq_file(path)
    path = _write_jsonl(tmp_path / "arc.jsonl", [first])
    (item,) = load_mcq_file(path).items
    assert item.id == "NYSEDREGENTS_2015__3"
    assert PYTEST_ID.fullmatch(item.id)


# --- our JSONL ---------------------------------------------------------------------------


def test_own_jsonl_items_with_and_without_ids(tmp_path):
    records = [_own(1, id="q-one", subject="art"), _own(2), _own(3, context="Read this first.")]
    result = load_mcq_file(_write_jsonl(tmp_path / "mine.jsonl", records))
    assert [item.id for item in result.items] == ["q-one", "mine-0002", "mine-0003"]
    assert result.items[0].options == ("red", "green", "blue")
    assert result.items[0].expected == "C"
    assert result.items[2].context == "Read this first.\n\nOwn question 3?"
    assert result.subjects == {"q-one": "art"}


def test_layout_is_detected_from_content_without_a_known_extension(tmp_path):
    json_path = _write_jsonl(tmp_path / "items.txt", [_own(1)])
    assert load_mcq_file(json_path).items[0].expected == "C"
    csv_path = tmp_path / "items.data"
    csv_path.write_text("q,a,b,c,d,a\n", encoding="utf-8")
    assert load_mcq_file(csv_path).items[0].expected == "A"


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('["a", "list"]', "must be a JSON object"),
        ('{"question": "q?", "options": ["a", "b"]}', "missing key 'answer'"),
        ('{"options": ["a", "b"], "answer": "A"}', "missing key 'question'"),
        ('{"question": "q?", "options": ["a", "b"], "answer": "C"}', "not among the 2 options"),
        ('{"question": "q?", "options": ["a", "b"], "answer": "AB"}', "bad answer"),
        ('{"question": "q?", "options": "a b", "answer": "A"}', "'options' must be a list"),
        ('{"question": "q?", "options": ["a", 3], "answer": "A"}', "must be a string"),
    ],
)
def test_malformed_own_rows_name_the_file_and_line(tmp_path, bad_line, reason):
    good = json.dumps(_own(1))
    path = tmp_path / "broken.jsonl"
    path.write_text(f"{good}\n\n{good.replace('1', '2')}\n{bad_line}\n{good}\n", encoding="utf-8")
    with pytest.raises(ItemFileError) as error:
        load_mcq_file(path)
    assert error.value.line == 4
    assert error.value.path == str(path)
    assert str(error.value).startswith(f"{path}:4: ")
    assert reason in str(error.value)


def test_item_file_error_is_a_value_error_and_a_missing_file_is_one(tmp_path):
    with pytest.raises(ValueError, match="no such item file"):
        load_mcq_file(tmp_path / "absent.jsonl")


def test_invalid_utf8_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"q,a,b,c,d,A\nq\xff,a,b,c,d,A\n")
    with pytest.raises(ItemFileError) as error:
        load_mcq_file(path)
    assert error.value.line == 2


# --- the paper's filters -------------------------------------------------------------------


def test_long_and_latex_items_are_dropped_and_counted(tmp_path):
    records = [
        _own(1),
        _own(2, question="Long " + "word " * 200 + "?"),
        _own(3, question="What is $x^2$ when x = 3?"),
        _own(4, question=r"Simplify \frac{1}{2} + 1."),
        _own(5, question=r"Evaluate \(2 + 2\)."),
        _own(6, options=[r"\begin{matrix}1\end{matrix}", "b", "c"]),
        _own(7, question="It costs $5 and a hat costs $10. Which is cheaper?"),
    ]
    result = load_mcq_file(_write_jsonl(tmp_path / "f.jsonl", records))
    assert result.dropped == {"too_long": 1, "latex": 4}
    assert [item.id for item in result.items] == ["f-0001", "f-0007"]
    assert "dropped 5" in result.message
    assert "latex: 4" in result.message
    assert "too_long: 1" in result.message


def test_the_length_limit_is_on_the_full_text_and_inclusive_at_800(tmp_path):
    options = ["a", "b", "c"]
    overhead = len("\n\nA. a\nB. b\nC. c")
    exact = _own(1, question="x" * (800 - overhead), options=options)
    over = _own(2, question="x" * (801 - overhead), options=options)
    result = load_mcq_file(_write_jsonl(tmp_path / "len.jsonl", [exact, over]))
    assert [len(item.full_text()) for item in result.items] == [800]
    assert result.dropped == {"too_long": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Let $x$ be real.", True),
        ("Compute $2^{10}$.", True),
        ("Display $$a+b$$ here", True),
        (r"Take \sqrt 2.", True),
        (r"Inline \[ x \] math", True),
        ("A ticket costs $5 and a meal $12.", False),
        ("Between $5-$10 per hour.", False),
        ("Plain text with no maths.", False),
        (r"A Windows path C:\Users\me", False),
    ],
)
def test_has_latex(text, expected):
    assert has_latex(text) is expected


# --- the built-in set ----------------------------------------------------------------------


def test_builtin_has_at_least_40_items_with_unique_sequential_ids():
    items = builtin_mcq()
    assert len(items) >= 40
    assert [item.id for item in items] == [f"mcq-{i:04d}" for i in range(1, len(items) + 1)]


def test_builtin_items_are_well_formed_short_and_free_of_latex():
    result = load_builtin_mcq()
    assert result.dropped == {}
    for item in result.items:
        assert item.task == "mcq"
        assert item.answer_type == "choice"
        assert len(item.options) == 4
        assert len(set(item.options)) == 4
        assert item.expected in "ABCD"
        assert len(item.full_text()) <= 800
        assert not has_latex(item.full_text())
        assert item.full_text().isascii()


def test_builtin_covers_at_least_five_subjects_and_every_answer_letter():
    result = load_builtin_mcq()
    subjects = Counter(result.subjects[item.id] for item in result.items)
    assert len(subjects) >= 5
    letters = Counter(item.expected for item in result.items)
    assert set(letters) == set("ABCD")
    assert max(letters.values()) - min(letters.values()) <= 3


def test_builtin_file_is_in_our_documented_format():
    lines = BUILTIN_MCQ_PATH.read_text(encoding="utf-8").splitlines()
    for line in lines:
        record = json.loads(line)
        assert set(record) <= {"id", "question", "options", "answer", "subject", "context"}
        assert {"question", "options", "answer", "subject"} <= set(record)


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text.casefold())


def test_no_two_builtin_stems_are_alike():
    # Items are recognised by matching a transcription to the stem: stems must differ.
    stems = [_squash(item.context) for item in builtin_mcq()]
    for i, a in enumerate(stems):
        for b in stems[i + 1 :]:
            matcher = SequenceMatcher(None, a, b, autojunk=False)
            shared = sum(block.size for block in matcher.get_matching_blocks())
            assert shared / min(len(a), len(b)) < 0.8, (a, b)
            assert matcher.ratio() < 0.7, (a, b)

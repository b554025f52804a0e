"""Multiple-choice loaders (MMLU CSV, ARC and our JSONL), filters, errors, the built-in set."""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from difflib import SequenceMatcher
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeAlias

import pytest

from rest_checks.items.base import OPTION_LETTERS, Item
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


def test_builtin_has_at_least_150_items_with_unique_sequential_ids():
    # The paper asks 150 multiple-choice questions per task.
    items = builtin_mcq()
    assert len(items) >= 150
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


# --- every built-in answer, worked out again -----------------------------------------------
#
# Each built-in question has an entry below that finds its correct option without reading the
# stored letter: from the numbers in the question (``Calc``), the quoted words (``Quoted``), a
# property only the right option has (``Pick``), the largest or smallest option (``Best``), or,
# for facts no code can derive, the answer written down here (``Fact``). An entry takes exactly
# the numbers its question holds or names words the question must contain, so it cannot
# silently check a different question.

NUMBER = re.compile(r"(?<![\w.,])-?\d+(?:,\d{3})*(?:\.\d+)?(?!\w)")
OPTION_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?%?")
QUOTED = re.compile(r'"([^"]+)"')
Answer: TypeAlias = "str | int | Fraction"


def numbers_in(text: str) -> list[Fraction]:
    """The numbers written in digits, in order: ``"1,024"`` is one, ``"H2O"`` holds none."""
    return [Fraction(match.group().replace(",", "")) for match in NUMBER.finditer(text)]


def option_number(option: str) -> Fraction | None:
    """An option that is one number (``"1,650"``, ``"5.60"``, ``"11/12"``, ``"60%"``)."""
    if not OPTION_NUMBER.fullmatch(option):
        return None
    return Fraction(option.replace(",", "").removesuffix("%"))


def groups(pattern: str, text: str) -> tuple[str, ...]:
    match = re.fullmatch(pattern, text)
    assert match, (pattern, text)
    return match.groups()


def closest_to(target: Fraction) -> Callable[[str], Fraction]:
    def closeness(option: str) -> Fraction:
        value = option_number(option)
        assert value is not None, option
        return -abs(value - target)

    return closeness


def mentions(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text, re.IGNORECASE) is not None


class Check:
    needs: tuple[str, ...] = ()

    def correct(self, question: str, options: Sequence[str]) -> list[str]:
        raise NotImplementedError


class Valued(Check):
    """The options equal to one answer: the same text, or the same number."""

    def answer(self, question: str) -> Answer:
        raise NotImplementedError

    def correct(self, question: str, options: Sequence[str]) -> list[str]:
        value = self.answer(question)
        assert not isinstance(value, float), "compute exactly, with Fraction"
        if isinstance(value, str):
            return [option for option in options if option == value]
        return [option for option in options if option_number(option) == value]


class Calc(Valued):
    def __init__(self, compute: Callable[..., Answer], *needs: str) -> None:
        self.compute, self.needs = compute, needs

    def answer(self, question: str) -> Answer:
        return self.compute(*numbers_in(question))


class Quoted(Valued):
    def __init__(self, compute: Callable[..., Answer]) -> None:
        self.compute = compute

    def answer(self, question: str) -> Answer:
        return self.compute(*QUOTED.findall(question))


class Fact(Valued):
    def __init__(self, needs: str, value: str) -> None:
        self.needs, self.value = (needs,), value

    def answer(self, question: str) -> Answer:
        return self.value


class Pick(Check):
    def __init__(self, holds: Callable[[str], bool], *needs: str) -> None:
        self.holds, self.needs = holds, needs

    def correct(self, question: str, options: Sequence[str]) -> list[str]:
        return [option for option in options if self.holds(option)]


class Best(Check):
    def __init__(self, key: Callable[[str], Any], *, largest: bool = True) -> None:
        self.key, self.largest = key, largest

    def correct(self, question: str, options: Sequence[str]) -> list[str]:
        keys = [self.key(option) for option in options]
        best = max(keys) if self.largest else min(keys)
        return [option for option, key in zip(options, keys, strict=True) if key == best]


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def exact_sqrt(square: Fraction) -> int:
    root = math.isqrt(int(square))
    assert root * root == square
    return root


def whole(value: Fraction) -> int:
    assert value.denominator == 1
    return int(value)


# Elements: symbol -> (name, atomic number).
ELEMENTS = {
    "H": ("Hydrogen", 1), "He": ("Helium", 2), "Li": ("Lithium", 3), "C": ("Carbon", 6),
    "N": ("Nitrogen", 7), "O": ("Oxygen", 8), "F": ("Fluorine", 9), "Ne": ("Neon", 10),
    "Na": ("Sodium", 11), "Al": ("Aluminium", 13), "Si": ("Silicon", 14),
    "P": ("Phosphorus", 15), "S": ("Sulfur", 16), "Cl": ("Chlorine", 17), "Ar": ("Argon", 18),
    "K": ("Potassium", 19), "Ca": ("Calcium", 20), "Ti": ("Titanium", 22),
    "V": ("Vanadium", 23), "Cr": ("Chromium", 24), "Fe": ("Iron", 26), "Co": ("Cobalt", 27),
    "Cu": ("Copper", 29), "Br": ("Bromine", 35), "Kr": ("Krypton", 36),
    "Pd": ("Palladium", 46), "Ag": ("Silver", 47), "Sn": ("Tin", 50), "Sb": ("Antimony", 51),
    "W": ("Tungsten", 74), "Pt": ("Platinum", 78), "Au": ("Gold", 79), "Pb": ("Lead", 82),
    "Fr": ("Francium", 87), "Pu": ("Plutonium", 94),
}  # fmt: skip
SYMBOLS = {name: symbol for symbol, (name, _) in ELEMENTS.items()}
BY_NUMBER = {number: name for name, number in ELEMENTS.values()}
NOBLE_GASES = {"Helium", "Neon", "Argon", "Krypton", "Xenon", "Radon"}
HALOGENS = {"Fluorine", "Chlorine", "Bromine", "Iodine", "Astatine"}


def element_named(symbol: str) -> Fact:
    return Fact(symbol, ELEMENTS[symbol][0])


def symbol_of(name: str) -> Fact:
    return Fact(name, SYMBOLS[name])


def atomic_number(name: str) -> Calc:
    return Calc(lambda: ELEMENTS[SYMBOLS[name]][1], name)


def atoms_in(formula: str) -> int:
    return sum(int(count or 1) for _, count in re.findall(r"([A-Z][a-z]?)(\d*)", formula))


DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def day_after(day: str, days: Fraction) -> str:
    return DAYS[(DAYS.index(day) + whole(days)) % 7]


def weekday(year: Fraction, month: int, day: Fraction) -> str:
    return DAYS[date(whole(year), month, whole(day)).weekday()]


def clock(minutes: Fraction) -> str:
    hours, rest = divmod(whole(minutes), 60)
    return f"{hours:02d}:{rest:02d}"


def twelve_hour(hour: Fraction, minute: Fraction) -> str:
    return f"{whole(hour) % 12 or 12}:{whole(minute):02d} {'pm' if hour >= 12 else 'am'}"


def ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def day_month(when: date) -> str:
    return f"{when.day} {MONTHS[when.month - 1]}"


def measured(units: Mapping[str, Fraction | int]) -> Callable[[str], Fraction]:
    """The size of ``"1 hour 45 minutes"`` or ``"1.2 km"`` in the table's base unit."""

    def size(option: str) -> Fraction:
        parts = re.findall(r"(-?\d[\d,]*(?:\.\d+)?) ([A-Za-z/ ]+?)(?= -?\d|$)", option)
        assert parts, option
        return sum((Fraction(v.replace(",", "")) * units[unit] for v, unit in parts), Fraction())

    return size


def celsius(option: str) -> Fraction:
    value, unit = groups(r"(-?[\d.]+) (.+)", option)
    degrees = Fraction(value)
    kelvin = Fraction("273.15")
    return {
        "degrees Celsius": degrees,
        "degrees Fahrenheit": (degrees - 32) * 5 / 9,
        "kelvin": degrees - kelvin,
    }[unit]


def price_per_kg(option: str) -> Fraction:
    price, mass = groups(r"([\d.]+) euros for ([\d.]+) kg", option)
    return Fraction(price) / Fraction(mass)


def ascending(option: str) -> bool:
    def value(part: str) -> Fraction:
        return Fraction(part.removesuffix("%")) / (100 if part.endswith("%") else 1)

    values = [value(part) for part in option.split(", ")]
    return values == sorted(values)


LENGTH_M: dict[str, Fraction | int] = {
    "km": 1000,
    "m": 1,
    "cm": Fraction(1, 100),
    "mm": Fraction(1, 1000),
}
MASS_G: dict[str, Fraction | int] = {"tonnes": 10**6, "kg": 1000, "g": 1, "mg": Fraction(1, 1000)}
TIME_S: dict[str, Fraction | int] = {"hour": 3600, "hours": 3600, "minutes": 60, "seconds": 1}
VOLUME_ML: dict[str, Fraction | int] = {"litres": 1000, "centilitres": 10, "millilitres": 1}
SPEED_M_S: dict[str, Fraction | int] = {
    "km/s": 1000,
    "m/s": 1,
    "m/min": Fraction(1, 60),
    "km/h": Fraction(1000, 3600),
}
AREA_CM2: dict[str, Fraction | int] = {
    "square metre": 10**4,
    "square metres": 10**4,
    "square centimetres": 1,
}
LIGHT_KM_S = Fraction("299792.458")

ANSWER_KEY: dict[str, Check] = {
    # geography
    "mcq-0001": Fact("ocean", "Pacific Ocean"),
    "mcq-0002": Fact("Ottawa", "Canada"),
    "mcq-0003": Fact("Sahara", "Africa"),
    "mcq-0004": Fact("Kyoto", "Japan"),
    "mcq-0005": Fact("Paris", "Seine"),
    "mcq-0006": Fact("Kilimanjaro", "Tanzania"),
    "mcq-0007": Fact("smallest area", "Vatican City"),
    "mcq-0008": Fact("Australian", "Canberra"),
    # history
    "mcq-0009": Fact("Second World War", "1945"),
    "mcq-0010": Fact("Moon", "Neil Armstrong"),
    "mcq-0011": Fact("Berlin Wall", "1989"),
    "mcq-0012": Fact("Giza", "The ancient Egyptians"),
    "mcq-0013": Fact("iceberg", "Titanic"),
    "mcq-0014": Fact("George Washington", "President of the United States"),
    "mcq-0015": Fact("Augustus", "The Roman Empire"),
    "mcq-0016": Fact("Gutenberg", "Printing with movable metal type"),
    # physics
    "mcq-0017": Fact("electric current", "ampere"),
    "mcq-0018": Best(closest_to(LIGHT_KM_S)),
    "mcq-0019": Fact("orbits", "Gravity"),
    "mcq-0020": Fact("boils", "100"),
    # chemistry
    "mcq-0021": element_named("Au"),
    "mcq-0022": Fact("atmosphere", "Nitrogen"),
    "mcq-0023": Fact("water", "H2O"),
    "mcq-0024": atomic_number("Carbon"),
    "mcq-0025": Pick(lambda option: option in NOBLE_GASES, "noble gas"),
    # biology
    "mcq-0026": Fact("pumps blood", "Heart"),
    "mcq-0027": Fact("photosynthesis", "Chloroplasts"),
    "mcq-0028": Fact("chromosomes", "46"),
    "mcq-0029": Fact("Oxygen is carried", "Red blood cells"),
    "mcq-0030": Fact("Genetic information", "DNA"),
    # mathematics
    "mcq-0031": Calc(lambda a, b: a * b, "multiply"),
    "mcq-0032": Fact("interior angles of any flat triangle", "180"),
    "mcq-0033": Pick(lambda option: is_prime(int(option)), "prime"),
    "mcq-0034": Calc(exact_sqrt, "square root"),
    "mcq-0035": Calc(lambda a, b: 2 * (a + b), "perimeter"),
    "mcq-0036": Calc(lambda x: 15 * x / 100, "Fifteen percent"),
    "mcq-0037": Fact("hexagon", "Six"),
    # language
    "mcq-0038": Fact('"rapid"', "quick"),
    "mcq-0039": Fact('"mouse"', "mice"),
    "mcq-0040": Fact("adverb", "beautifully"),
    "mcq-0041": Fact('"ancient"', "modern"),
    "mcq-0042": Fact("native speakers", "Mandarin Chinese"),
    "mcq-0043": Fact('"to go"', "went"),
    "mcq-0044": Fact("Bonjour", "French"),
    # computing
    "mcq-0045": Fact("byte", "8"),
    "mcq-0046": Fact("CPU", "Central Processing Unit"),
    "mcq-0047": Fact("0 and 1", "Binary"),
    "mcq-0048": Calc(lambda bits: int(str(bits), 2), "binary"),
    "mcq-0049": Fact("programming language", "Python"),
    "mcq-0050": Fact("https", "The connection is secured by encryption"),
    # units
    "mcq-0051": Calc(lambda m: m * 100, "centimetres", "metres"),
    "mcq-0052": Calc(lambda kg: kg * 1000, "kilograms", "grams"),
    "mcq-0053": Calc(lambda minutes: minutes / 60, "minutes", "hours"),
    "mcq-0054": Calc(lambda litres: litres * 1000, "litres", "millilitres"),
    "mcq-0055": Calc(lambda hours: hours * 3600, "seconds", "hours"),
    "mcq-0056": Calc(lambda lap_m, km: km * 1000 / lap_m, "m", "km"),
    "mcq-0057": Calc(lambda cm: cm / 100, "cm", "metres"),
    "mcq-0058": Calc(lambda inch_cm, inches: inch_cm * inches, "inch"),
    "mcq-0059": Calc(lambda per_foot, feet: per_foot * feet, "inches", "feet"),
    "mcq-0060": Calc(lambda: 100 * 100, "square metre", "square centimetres"),
    "mcq-0061": Calc(lambda g: g / 1000, "grams", "kilograms"),
    "mcq-0062": Calc(lambda h, m: 60 * h + m, "hours", "minutes"),
    "mcq-0063": Calc(lambda m3: m3 * 1000, "cubic metres", "litres"),
    "mcq-0064": Calc(lambda km: km * 1000, "km", "metres"),
    # number theory
    "mcq-0065": Calc(lambda a, b: math.gcd(whole(a), whole(b)), "greatest common divisor"),
    "mcq-0066": Calc(lambda a, b: math.lcm(whole(a), whole(b)), "least common multiple"),
    "mcq-0067": Pick(lambda option: int(option) % 9 == 0, "divisible by 9"),
    "mcq-0068": Calc(lambda a, b: a % b, "remainder"),
    "mcq-0069": Calc(lambda a, b: sum(map(is_prime, range(whole(a) + 1, whole(b)))), "prime"),
    "mcq-0070": Pick(lambda option: not is_prime(int(option)), "prime"),
    "mcq-0071": Calc(lambda a: next(k for k in range(whole(a) + 1, 2 * whole(a)) if is_prime(k))),
    "mcq-0072": Calc(lambda x: sum(whole(x) % d == 0 for d in range(1, whole(x) + 1)), "divisors"),
    "mcq-0073": Calc(lambda a, b: sum(range(whole(a), whole(b) + 1)), "Add every whole number"),
    "mcq-0074": Pick(lambda option: math.isqrt(int(option)) ** 2 == int(option)),
    "mcq-0075": Calc(lambda base, power: base**power, "power"),
    "mcq-0076": Calc(
        lambda x: max(p for p in range(2, whole(x) + 1) if x % p == 0 and is_prime(p)),
        "largest prime factor",
    ),
    "mcq-0077": Calc(
        lambda a, b, m: sum(k % m == 0 for k in range(whole(a), whole(b) + 1)), "multiples"
    ),
    "mcq-0078": Calc(lambda a, b, c, d: d + (d - c), "sequence"),
    "mcq-0079": Pick(lambda option: all(int(option) % d == 1 for d in (2, 3, 4)), "remainder 1"),
    # geometry
    "mcq-0080": Calc(lambda side: side * side, "area of a square"),
    "mcq-0081": Calc(lambda base, height: base * height / 2, "triangle", "area"),
    "mcq-0082": Calc(lambda r, pi: pi * r * r, "radius", "area"),
    "mcq-0083": Calc(lambda pi, across: pi * across, "circumference"),
    "mcq-0084": Calc(lambda a, b: exact_sqrt(a * a + b * b), "hypotenuse"),
    "mcq-0085": Calc(lambda sides: (sides - 2) * 180 / sides, "inside angle"),
    "mcq-0086": Calc(lambda edge: edge**3, "cube", "volume"),
    "mcq-0087": Calc(lambda a, b, c: a * b * c, "cubic metres"),
    "mcq-0088": Calc(lambda area, width: area / width, "wide"),
    "mcq-0089": Calc(lambda a, b: 180 - a - b, "triangle"),
    "mcq-0090": Calc(lambda edge: 6 * edge * edge, "surface area", "cube"),
    "mcq-0091": Calc(lambda perimeter: (perimeter / 4) ** 2, "square", "area"),
    "mcq-0092": Calc(lambda side: 5 * side, "pentagon"),
    "mcq-0093": Calc(lambda a, b: 2 * (a + b), "all the way around"),
    "mcq-0094": Calc(lambda sides: sides * (sides - 3) / 2, "diagonals"),
    # calendar and time
    "mcq-0095": Calc(lambda days: day_after("Tuesday", days), "Tuesday"),
    "mcq-0096": Calc(lambda day, year: weekday(year, 1, day), "January"),
    "mcq-0097": Pick(lambda option: calendar.isleap(int(option)), "February had a 29th day"),
    "mcq-0098": Calc(lambda year: calendar.monthrange(whole(year), 2)[1], "February"),
    "mcq-0099": Calc(
        lambda h1, m1, h2, m2: "{} h {} min".format(*divmod(whole(60 * (h2 - h1) + m2 - m1), 60))
    ),
    "mcq-0100": Calc(lambda h, m, minutes: clock(60 * h + m + minutes), "minutes"),
    "mcq-0101": Calc(lambda: 7 * 24, "Monday", "next Monday"),
    "mcq-0102": Calc(
        lambda a, b: (date(2001, 4, whole(b)) - date(2001, 3, whole(a))).days + 1,
        "March",
        "April",
        "Counting both dates",
    ),
    "mcq-0103": Pick(
        lambda option: calendar.monthrange(2001, MONTHS.index(option) + 1)[1] == 30, "30 days"
    ),
    "mcq-0104": Calc(lambda born, year: year - born, "born"),
    "mcq-0105": Calc(lambda h1, m1, h2, m2: 60 * (h2 - h1) + m2 - m1, "minutes"),
    "mcq-0106": Calc(lambda _12, _24, h, m: twelve_hour(h, m), "12-hour clock"),
    "mcq-0107": Calc(lambda year: ordinal(whole(year - 1) // 100 + 1), "century"),
    "mcq-0108": Calc(lambda a, b: day_after("Friday", b - a), "Friday", "March"),
    "mcq-0109": Calc(
        lambda day, days: day_month(date(2001, 6, whole(day)) + timedelta(days=whole(days))), "June"
    ),
    # comparing quantities
    "mcq-0110": Best(measured(LENGTH_M)),
    "mcq-0111": Best(measured(MASS_G), largest=False),
    "mcq-0112": Best(Fraction),
    "mcq-0113": Best(Fraction, largest=False),
    "mcq-0114": Best(measured(TIME_S)),
    "mcq-0115": Best(measured(VOLUME_ML)),
    "mcq-0116": Pick(ascending, "smallest to largest"),
    "mcq-0117": Best(measured(SPEED_M_S)),
    "mcq-0118": Best(measured(MASS_G)),
    "mcq-0119": Best(measured(AREA_CM2)),
    "mcq-0120": Best(celsius, largest=False),
    "mcq-0121": Best(price_per_kg, largest=False),
    # physics
    "mcq-0122": Calc(lambda km, hours: km / hours, "km/h"),
    "mcq-0123": Calc(lambda mass, acceleration: mass * acceleration, "newtons"),
    "mcq-0124": Calc(lambda grams, cm3: grams / cm3, "density"),
    "mcq-0125": Calc(lambda amps, ohms: amps * ohms, "voltage"),
    "mcq-0126": Calc(lambda watts, hours: watts * hours, "watt-hours"),
    "mcq-0127": Calc(lambda mass, speed: mass * speed * speed / 2, "kinetic energy"),
    "mcq-0128": Calc(lambda g, mass: g * mass, "newtons"),
    "mcq-0129": Calc(lambda force, area: force / area, "pressure"),
    "mcq-0130": Calc(lambda speed, seconds: speed / seconds, "acceleration"),
    "mcq-0131": Calc(lambda speed, hours: speed * hours, "kilometres"),
    "mcq-0132": Calc(lambda joules, seconds: joules / seconds, "power"),
    "mcq-0133": Calc(lambda mass, height, g: mass * g * height, "potential energy"),
    "mcq-0134": Calc(lambda a, b: a + b, "series"),
    "mcq-0135": Calc(lambda speed, seconds: speed * seconds, "metres"),
    "mcq-0136": Calc(lambda offset, c: c + offset, "kelvin"),
    "mcq-0137": Calc(lambda slope, offset, c: slope * c + offset, "Fahrenheit"),
    # chemistry
    "mcq-0138": element_named("Fe"),
    "mcq-0139": symbol_of("Sodium"),
    "mcq-0140": element_named("K"),
    "mcq-0141": symbol_of("Silver"),
    "mcq-0142": atomic_number("Oxygen"),
    "mcq-0143": atomic_number("Neon"),
    "mcq-0144": element_named("Pb"),
    "mcq-0145": Calc(lambda z: BY_NUMBER[whole(z)], "atomic number"),
    "mcq-0146": Calc(lambda protons: BY_NUMBER[whole(protons)], "protons"),
    "mcq-0147": symbol_of("Copper"),
    "mcq-0148": Pick(lambda option: option in HALOGENS, "halogen"),
    "mcq-0149": Calc(lambda: atoms_in("H2SO4"), "H2SO4"),
    "mcq-0150": Calc(lambda h, o: 2 * h + o, "H2O"),
    "mcq-0151": element_named("W"),
    "mcq-0152": symbol_of("Tin"),
    # mathematics
    "mcq-0153": Calc(lambda percent, x: percent * x / 100),
    "mcq-0154": Calc(lambda *xs: sum(xs) / len(xs), "mean"),
    "mcq-0155": Calc(lambda price, cut: price * (100 - cut) / 100, "reduced"),
    "mcq-0156": Calc(lambda a, b, c, d: a / b + c / d, "plus"),
    "mcq-0157": Calc(lambda *xs: sorted(xs)[len(xs) // 2], "median"),
    "mcq-0158": Calc(lambda b, c: (c - b) / 3, "3x"),
    "mcq-0159": Calc(lambda eggs, people, more: eggs * more / people, "eggs"),
    "mcq-0160": Calc(lambda a, b: b * b - a * a, "square of 5", "square of 12"),
    "mcq-0161": Calc(lambda x: round(x, 2), "two decimal places"),
    "mcq-0162": Calc(lambda a, b: a * b, "multiplied"),
    "mcq-0163": Calc(lambda prize, winners: prize / winners, "split equally"),
    "mcq-0164": Calc(lambda pens, cost, more: cost / pens * more, "pens"),
    "mcq-0165": Calc(lambda a, b, c: a + b * c, "order of operations"),
    "mcq-0166": Calc(lambda boys, girls: 100 * girls / (boys + girls), "girls"),
    # computing
    "mcq-0167": Calc(lambda x: format(whole(x), "b"), "binary"),
    "mcq-0168": Calc(lambda: int("FF", 16), "FF"),
    "mcq-0169": Calc(lambda bits: 2**bits, "bits"),
    "mcq-0170": Calc(lambda per_kb, kb: per_kb * kb, "kilobytes"),
    "mcq-0171": Calc(lambda a, b: format(int(str(a), 2) + int(str(b), 2), "b"), "binary"),
    "mcq-0172": Calc(lambda size, rate: size / rate, "megabytes per second"),
    "mcq-0173": Calc(lambda code_a: code_a + ord("D") - ord("A"), "letter A", "letter D"),
    "mcq-0174": Calc(lambda size: 8 * size, "byte", "bits"),
    # language
    "mcq-0175": Best(str, largest=False),
    "mcq-0176": Quoted(len),
    "mcq-0177": Quoted(lambda word: sum(letter in "aeiou" for letter in word)),
    "mcq-0178": Pick(lambda option: sorted(option) == sorted("listen"), '"listen"'),
    "mcq-0179": Pick(lambda option: option == option[::-1], "palindrome"),
    "mcq-0180": Quoted(lambda word: word[::-1]),
}


def test_the_answer_key_covers_every_builtin_item() -> None:
    assert list(ANSWER_KEY) == [item.id for item in builtin_mcq()]


@pytest.mark.parametrize("item", builtin_mcq(), ids=lambda item: item.id)
def test_each_builtin_answer_is_the_one_correct_option(item: Item) -> None:
    check = ANSWER_KEY[item.id]
    stem = item.context
    for words in check.needs:
        assert mentions(stem, words), f"{item.id}: the question does not mention {words!r}"
    assert len(set(item.options)) == len(item.options)
    stored = item.options[OPTION_LETTERS.index(item.expected)]
    assert check.correct(stem, item.options) == [stored]


FIRST_FIFTY_SHA256 = "81a63cd6dce4e18b8a74fae2a7245e5127881332716daec7aba74e8330911606"


def test_the_first_fifty_builtin_items_never_change() -> None:
    # Stored baselines name these items; their text and answers are fixed.
    head = BUILTIN_MCQ_PATH.read_bytes().splitlines(keepends=True)[:50]
    digest = hashlib.sha256(b"".join(head)).hexdigest()
    assert digest == FIRST_FIFTY_SHA256

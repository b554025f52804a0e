"""Arithmetic word problems in the spirit of GSM-Symbolic, from templates of our own.

A template is a short story and a final question with symbolic slots: word slots
(``{name}``, ``{item}``...) filled from small lists, and number slots (``{a}``, ``{b}``...)
filled from ranges by a seeded generator. The answer is computed from the numbers by the
template's own function, and values are drawn until the answer is a positive integer.

Every template can also read itself back: ``solve_arith_text`` turns each template into a
regular expression (built from the template text, not written by hand) and recovers the
numbers from a transcription, however its spaces, line breaks, case and punctuation were
mangled.
"""

from __future__ import annotations

import itertools
import random
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from rest_checks.items.base import Item

NAMES = (
    "Amira", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kofi", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Samir", "Tess",
)  # fmt: skip
WORDS: dict[str, tuple[str, ...]] = {
    "name": NAMES,
    "other": NAMES,
    "item": ("pencils", "stickers", "marbles", "cookies", "batteries", "buttons", "candles"),
    "goods": ("notebooks", "mugs", "scarves", "plants", "lamps", "puzzles"),
    "vehicle": ("train", "bus", "ferry", "truck", "cyclist"),
    "thing": ("bicycle", "guitar", "camera", "tent", "telescope"),
    "clothes": ("jacket", "coat", "dress", "pair of boots", "backpack"),
    "baked": ("cookies", "muffins", "bread rolls", "pancakes", "biscuits"),
    "produce": ("tomatoes", "peppers", "cucumbers", "strawberries", "pumpkins"),
}

_FIELD = re.compile(r"\{(\w+)\}")


def _normalise(text: str) -> str:
    # Only lower-case letters and digits survive: OCR may break, join or re-case words and
    # swap punctuation, but it rarely changes the letters themselves.
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class ArithTemplate:
    """One word-problem template. ``numbers`` gives each number slot its possible values."""

    name: str
    story: str
    question: str
    numbers: Mapping[str, Sequence[int]]
    # Exact: division gives a Fraction, which must come out whole for a valid item.
    answer: Callable[[Mapping[str, int]], int | Fraction]
    valid: Callable[[Mapping[str, int]], bool] = field(default=lambda v: True)

    def slots(self) -> list[str]:
        """The slot names in order of first appearance."""
        found: list[str] = []
        for slot in _FIELD.findall(self.story + " " + self.question):
            if slot not in found:
                found.append(slot)
        return found

    def check(self) -> None:
        """Raise ``ValueError`` if the template cannot be read back unambiguously."""
        text = self.story + " " + self.question
        for slot in self.slots():
            if slot not in self.numbers and slot not in WORDS:
                raise ValueError(f"template {self.name!r}: slot {{{slot}}} has no values")
        for slot in self.numbers:
            if _FIELD.findall(text).count(slot) != 1:
                raise ValueError(f"template {self.name!r}: number slot {{{slot}}} must occur once")
        # Two numbers with nothing but spaces or punctuation between them would run
        # together once the text is normalised.
        pieces = _FIELD.split(text)
        for i in range(2, len(pieces) - 1, 2):
            both_numbers = pieces[i - 1] in self.numbers and pieces[i + 1] in self.numbers
            if both_numbers and not re.search(r"[A-Za-z]", pieces[i]):
                raise ValueError(f"template {self.name!r}: numbers need words between them")
        for literal in pieces[0::2]:
            if re.search(r"\d", literal):
                raise ValueError(f"template {self.name!r}: digits belong in number slots only")

    def draw(self, rng: random.Random) -> tuple[dict[str, str], dict[str, int]]:
        """Seeded words and numbers for which the answer is a positive integer."""
        for _ in range(10_000):
            values = {slot: rng.choice(choices) for slot, choices in self.numbers.items()}
            if not self.valid(values):
                continue
            result = self.answer(values)
            if result != int(result) or result <= 0:
                continue
            words = {slot: rng.choice(WORDS[slot]) for slot in self.slots() if slot in WORDS}
            if "other" in words:
                words["other"] = rng.choice([n for n in NAMES if n != words.get("name")])
            return words, values
        raise RuntimeError(f"template {self.name!r}: no valid values found")

    def distinct_texts(self, at_most: int) -> int:
        """How many distinct problems this template can make, counted up to ``at_most``
        (counting stops there, so a large template costs no more than what is asked).
        Every slot shows in the text, so distinct words and values make distinct texts."""
        slots = self.slots()
        wordings = 1
        for slot in slots:
            if slot in WORDS:
                # ``other`` is never the same person as ``name``.
                wordings *= len(WORDS[slot]) - (slot == "other" and "name" in slots)
        wanted = -(-at_most // wordings)  # value sets that make ``at_most`` texts
        found = 0
        for combo in itertools.product(*self.numbers.values()):
            values = dict(zip(self.numbers, combo, strict=True))
            if self.valid(values):
                result = self.answer(values)
                if result == int(result) and result > 0:
                    found += 1
                    if found >= wanted:
                        break
        return min(at_most, found * wordings)

    def fill(self, words: Mapping[str, str], values: Mapping[str, int]) -> tuple[str, str]:
        """The story and the question with the slots filled."""
        fields = {**words, **{k: str(v) for k, v in values.items()}}
        return self.story.format(**fields), self.question.format(**fields)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """A regex over normalised text, one named group per number slot."""
        parts: list[str] = []
        for literal, slot, _, _ in string.Formatter().parse(self.story + " " + self.question):
            parts.append(re.escape(_normalise(literal)))
            if slot is None:
                continue
            if slot in self.numbers:
                parts.append(rf"(?P<{slot}>\d+)")
            else:
                # A name or object does not change the answer: accept whatever OCR made of it.
                parts.append(r"[a-z]{1,40}?")
        return re.compile("".join(parts))

    def read(self, text: str) -> dict[str, int] | None:
        """The number slots recovered from ``text``, or ``None`` if it does not match."""
        match = self.pattern.search(_normalise(text))
        if match is None:
            return None
        return {slot: int(match.group(slot)) for slot in self.numbers}


TEMPLATES: tuple[ArithTemplate, ...] = (
    ArithTemplate(
        name="packs",
        story="{name} buys {a} packs of {item}. Each pack holds {b} {item}. "
        "{name} gives away {c} of them.",
        question="How many {item} does {name} have left?",
        numbers={"a": range(2, 10), "b": range(3, 13), "c": range(1, 30)},
        answer=lambda v: v["a"] * v["b"] - v["c"],
    ),
    ArithTemplate(
        name="change",
        story="A shop sells {goods} at {p} dollars each. {name} buys {k} of them "
        "and pays with a note of {bill} dollars.",
        question="How many dollars of change does {name} get back?",
        numbers={"p": range(2, 25), "k": range(2, 8), "bill": (20, 50, 100)},
        answer=lambda v: v["bill"] - v["p"] * v["k"],
    ),
    ArithTemplate(
        name="journey",
        story="A {vehicle} travels at {v} kilometres per hour for {t} hours. "
        "After a stop it travels at {w} kilometres per hour for {u} more hours.",
        question="How many kilometres does the {vehicle} travel in total?",
        numbers={"v": range(10, 95, 5), "t": range(2, 6), "w": range(10, 95, 5), "u": range(2, 6)},
        answer=lambda v: v["v"] * v["t"] + v["w"] * v["u"],
    ),
    ArithTemplate(
        name="ages",
        story="{name} is {a} years old. {other} is {k} times as old as {name}.",
        question="How old will {other} be in {c} years?",
        numbers={"a": range(3, 15), "k": range(2, 5), "c": range(1, 20)},
        answer=lambda v: v["k"] * v["a"] + v["c"],
    ),
    ArithTemplate(
        name="sharing",
        story="{name} bakes {a} trays of {baked} with {b} on each tray. "
        "{name} shares all of them equally among {k} friends.",
        question="How many {baked} does each friend get?",
        numbers={"a": range(2, 9), "b": range(4, 16), "k": range(2, 9)},
        valid=lambda v: v["a"] * v["b"] % v["k"] == 0,
        answer=lambda v: Fraction(v["a"] * v["b"], v["k"]),
    ),
    ArithTemplate(
        name="tiles",
        story="A room is {l} metres long and {w} metres wide. "
        "One box of tiles covers {c} square metres of floor.",
        question="How many boxes of tiles are needed to cover the whole floor?",
        numbers={"l": range(3, 16), "w": range(2, 13), "c": range(2, 7)},
        valid=lambda v: v["l"] * v["w"] % v["c"] == 0,
        answer=lambda v: Fraction(v["l"] * v["w"], v["c"]),
    ),
    ArithTemplate(
        name="film",
        story="A film starts at {h} o'clock in the evening. It lasts {hours} hours and "
        "{minutes} minutes, and {name} arrives {late} minutes after it starts.",
        question="How many minutes of the film does {name} see?",
        numbers={
            "h": range(5, 10),
            "hours": range(2, 4),
            "minutes": range(5, 60, 5),
            "late": range(5, 45, 5),
        },
        answer=lambda v: 60 * v["hours"] + v["minutes"] - v["late"],
    ),
    ArithTemplate(
        name="packing",
        story="{name} can pack {a} parcels per hour and {other} can pack {b} parcels per hour. "
        "They work together for {t} hours.",
        question="How many parcels do they pack in total?",
        numbers={"a": range(4, 30), "b": range(4, 30), "t": range(2, 9)},
        answer=lambda v: (v["a"] + v["b"]) * v["t"],
    ),
    ArithTemplate(
        name="savings",
        story="{name} saves {a} dollars every week for {w} weeks. "
        "Then {name} spends {s} dollars on a {thing}.",
        question="How many dollars does {name} have left?",
        numbers={"a": range(5, 40), "w": range(3, 20), "s": range(20, 300, 10)},
        answer=lambda v: v["a"] * v["w"] - v["s"],
    ),
    ArithTemplate(
        name="discount",
        story="A {clothes} costs {p} dollars. During a sale the shop takes {d} percent "
        "off the price.",
        question="How many dollars does the {clothes} cost in the sale?",
        numbers={"p": range(20, 220, 20), "d": range(5, 55, 5)},
        answer=lambda v: Fraction(v["p"] * (100 - v["d"]), 100),
    ),
    ArithTemplate(
        name="garden",
        story="A garden has {r} rows of plants with {k} plants in each row. "
        "Each plant gives {f} {produce}, and {name} sells {s} of the {produce} at the market.",
        question="How many {produce} does {name} keep?",
        numbers={"r": range(2, 9), "k": range(3, 12), "f": range(2, 7), "s": range(5, 60)},
        answer=lambda v: v["r"] * v["k"] * v["f"] - v["s"],
    ),
    ArithTemplate(
        name="library",
        story="A library has {a} books on its shelves. On Monday {b} books are borrowed "
        "and {c} books are returned.",
        question="How many books are on the shelves after Monday?",
        numbers={"a": range(120, 600), "b": range(10, 90), "c": range(5, 60)},
        answer=lambda v: v["a"] - v["b"] + v["c"],
    ),
)


def _template_order(seed: int, block: int) -> list[ArithTemplate]:
    # Templates come in shuffled blocks, so every run of len(TEMPLATES) items uses them all.
    return random.Random(f"arith:{seed}:templates:{block}").sample(TEMPLATES, len(TEMPLATES))


def generate_arith(n: int, seed: int) -> list[Item]:
    """``n`` word problems, ids ``arith-0001``..., the same for the same ``seed``.

    Item ``i`` depends only on ``(seed, i)``, so a longer run starts with the items of a
    shorter one. The expected answer is a positive integer, e.g. ``"42"``.
    """
    if n < 0:
        raise ValueError(f"number of arithmetic items must be >= 0, got {n}")
    largest = largest_arith_n(n, seed)
    if largest is not None:
        raise ValueError(
            f"arith: {n} distinct items cannot be made with seed {seed}; its templates "
            f"allow at most {largest} (use --rest-n {largest} or less)"
        )
    items: list[Item] = []
    seen: set[str] = set()
    for index in range(n):
        template = _template_order(seed, index // len(TEMPLATES))[index % len(TEMPLATES)]
        rng = random.Random(f"arith:{seed}:item:{index}")
        while True:
            words, values = template.draw(rng)
            story, question = template.fill(words, values)
            if story + question not in seen:
                break
        seen.add(story + question)
        items.append(
            Item(
                id=f"arith-{index + 1:04d}",
                task="arith",
                context=story,
                question=question,
                expected=str(int(template.answer(values))),
                answer_type="number",
                source=f"generate_arith(seed={seed}) #{index + 1} ({template.name})",
            )
        )
    return items


def largest_arith_n(n: int, seed: int) -> int | None:
    """``None`` when ``generate_arith(n, seed)`` can make ``n`` distinct items; else the
    largest count it can make. Each template serves every ``len(TEMPLATES)``-th item (in
    a seeded order per block), so the first template to run out of distinct texts, at
    block ``distinct``, ends the run at its place in that block."""
    count = len(TEMPLATES)
    uses = -(-n // count)  # the most items any one template serves
    largest: int | None = None
    for template in TEMPLATES:
        distinct = template.distinct_texts(uses)
        if distinct >= uses:
            continue
        place = _template_order(seed, distinct).index(template)
        stop = distinct * count + place  # the index of the item it cannot make
        if stop < n:
            largest = stop if largest is None else min(largest, stop)
    return largest


def match_templates(text: str) -> list[tuple[ArithTemplate, dict[str, int]]]:
    """Every template that ``text`` matches, with the numbers read back from it."""
    found: list[tuple[ArithTemplate, dict[str, int]]] = []
    for template in TEMPLATES:
        values = template.read(text)
        if values is not None:
            found.append((template, values))
    return found


def solve_arith_text(text: str) -> str | None:
    """The canonical answer to the word problem in ``text``, or ``None``.

    ``None`` unless exactly one template matches and its answer from the numbers read
    back is an integer (a misread number can make it a fraction: that is not confident).
    """
    found = match_templates(text)
    if len(found) != 1:
        return None
    template, values = found[0]
    try:
        result = template.answer(values)
    except ZeroDivisionError:
        return None
    if result != int(result):
        return None
    return str(int(result))


for _template in TEMPLATES:
    _template.check()

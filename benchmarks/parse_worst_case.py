"""Worst time to read the final answer out of hostile replies, per family and size.

    python benchmarks/parse_worst_case.py [--repeat N] [--sizes 1000,10000,100000,200000]

Each family builds a reply of the given size in characters from one pattern that has made
answer parsers slow (long runs of whitespace before a bracket, thousands of answer
markers, unbalanced \\boxed{, reasoning blocks, quoted instructions, ...), read with a
multiple-choice item's options. Every reply is read as a choice, a number and a
solution, strictly and leniently; a cell is the worst of those six readings, each the best
of N runs (so that a scheduling hiccup does not count as a slow parse). Milliseconds.
Parsing is linear when a row grows no faster than its size.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from rest_checks.answers import extract_answer
from rest_checks.items.base import ANSWER_TYPES


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head``, then ``unit`` repeated, then ``tail``: ``size`` characters in all."""
    room = max(0, size - len(head) - len(tail))
    return head + (unit * (room // len(unit) + 1))[:room] + tail


def _random_text(size: int) -> str:
    rng = random.Random(size)
    tokens = [
        "ANSWER:", "answer", ":", "**", "\\boxed{", "{", "}", "(", ")", " ", "  ", "\n",
        "A", "=", "1", ",", "/", "-", "$", "\\\\", "&", "|", ".", "x", "\\frac{",
    ]  # fmt: skip
    parts: list[str] = []
    length = 0
    while length < size:
        parts.append(rng.choice(tokens))
        length += len(parts[-1])
    return "".join(parts)[:size]


FAMILIES: dict[str, Callable[[int], str]] = {
    "spaces before (": lambda n: _fill(" ", n, "ANSWER: A=1", "("),
    "spaces, then value": lambda n: _fill(" ", n, "ANSWER:", "5"),
    "blank lines": lambda n: _fill("\n", n, "ANSWER:"),
    "mixed whitespace": lambda n: _fill(" \t \n", n, "ANSWER: A = 1", "("),
    "nested ( )": lambda n: "ANSWER: A = " + "(" * (n // 2 - 6) + ")" * (n // 2 - 6),
    "open (": lambda n: _fill("(", n, "ANSWER: A = 1 "),
    "ANSWER: repeated": lambda n: _fill("ANSWER:", n),
    "answer: repeated": lambda n: _fill("answer:", n),
    "answer: in prose": lambda n: _fill("x answer: ", n),
    "**Answer:** repeated": lambda n: _fill("**Answer:** ", n),
    "## Answer headings": lambda n: _fill("## Answer\n", n),
    "the answer is": lambda n: _fill("the answer is ", n),
    "\\boxed{ open": lambda n: _fill("\\boxed{", n),
    "\\boxed{1} closed": lambda n: _fill("\\boxed{A = 1} ", n),
    "nested { }": lambda n: "\\boxed{" + "{" * (n // 2 - 4) + "}" * (n // 2 - 4),
    "thousands 1,": lambda n: _fill("1,", n, "ANSWER: "),
    "assignments A=": lambda n: _fill("A=", n, "ANSWER: "),
    "fractions 1/": lambda n: _fill("1/", n, "ANSWER: "),
    "mixed numbers": lambda n: _fill("1 ", n, "ANSWER: ", "1/2"),
    "equation lines": lambda n: _fill("A = 1\n", n, "ANSWER:\n"),
    "table rows": lambda n: _fill("| A | 1 |\n", n, "ANSWER:\n"),
    "aligned rows": lambda n: _fill("A &= 1 \\\\ ", n, "ANSWER: "),
    "\\frac{ open": lambda n: _fill("\\frac{", n, "ANSWER: "),
    "sentence ends": lambda n: _fill("x.", n),
    "long line, then answer": lambda n: _fill("x", n, "", "\nANSWER: 5"),
    "<think> blocks": lambda n: _fill("<think>ANSWER: 4</think>", n),
    "quoted instructions": lambda n: _fill("e.g. 'ANSWER: 42' ", n),
    "dashes and because": lambda n: _fill(" \u2014 because; ", n, "ANSWER: 5"),
    "spaces before a dash": lambda n: _fill(" ", n, "ANSWER: 5", "\u2014x"),
    "unit powers": lambda n: _fill("cm^2 ", n, "ANSWER: 5 "),
    "chained =": lambda n: _fill("= 1 ", n, "ANSWER: A "),
    "name: value pairs": lambda n: _fill("A: 1, ", n, "ANSWER: "),
    "correct option is": lambda n: _fill("the correct option is ", n),
    "option text (B)": lambda n: _fill("Paris ", n, "ANSWER: ", "(B)"),
    "random tokens": _random_text,
}


# A multiple-choice item's options: every reading compares its answer against them.
OPTIONS = ("Paris", "Berlin", "0.5", "3/4")


def worst_ms(reply: str, repeat: int) -> float:
    worst = 0.0
    for answer_type in ANSWER_TYPES:
        for lenient in (False, True):
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                extract_answer(reply, answer_type, lenient=lenient, options=OPTIONS)
                best = min(best, time.perf_counter() - start)
            worst = max(worst, best)
    return worst * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per reading (default 3)")
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000,200000",
        help="reply sizes in characters, comma-separated (default 1000,10000,100000,200000)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for answer_type in ANSWER_TYPES:  # first calls load tables; they are not parsing time
        extract_answer("ANSWER: A = 1, B = -2 (1 1/2)\n\\boxed{2}", answer_type, lenient=True)
    print(f"worst ms per reply (choice/number/solution x strict/lenient, best of {args.repeat})")
    print(f"{'family':<24}" + "".join(f"{f'{s:,} ch':>13}" for s in sizes))
    overall = (0.0, "", 0)
    for name, build in FAMILIES.items():
        cells = []
        for size in sizes:
            reply = build(size)
            ms = worst_ms(reply, args.repeat)
            overall = max(overall, (ms, name, size))
            cells.append(f"{ms:>13.2f}")
        print(f"{name:<24}" + "".join(cells))
    ms, name, size = overall
    print(f"worst: {ms:.2f} ms ({name}, {size:,} characters)")


if __name__ == "__main__":
    main()

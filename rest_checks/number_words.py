"""Numbers written as words, zero to twenty ("Two.", "twelve apples"): read only in
lenient mode, where a reply may say its answer in words. Imports nothing."""

from __future__ import annotations

import re

__all__ = ["NUMBER_WORDS", "number_word_value"]

NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        (
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        )
    )
}
# Lead words before the number ("it is", "there are"), the word itself, then at most two
# more words (a unit: "twelve apples", "two years old") and a full stop.
_LEAD = r"(?:(?:it|that|this|there|is|are|was|were|it's|will|be|a|total|of|so)\s+){0,4}"
# Words after which the number is not the answer ("one of them", "two or three").
_NOT_A_UNIT = r"(?:of|or|and|to|than|more|less|plus|minus|times|another)"
_ALONE = re.compile(
    rf"\s*{_LEAD}(?P<word>[a-z]+)(?!\s+{_NOT_A_UNIT}\b)(?:\s+[a-z]+){{0,2}}\s*[.!]?\s*",
    re.IGNORECASE,
)


def number_word_value(text: str) -> int | None:
    """The value of a number word that makes up ``text`` (with lead words and a unit of
    one or two words), or None. ``number_word_value("Two.") == 2``."""
    if len(text) > 80 or any(ch.isdigit() for ch in text):
        return None
    m = _ALONE.fullmatch(text)
    if m is None:
        return None
    return NUMBER_WORDS.get(m.group("word").lower())

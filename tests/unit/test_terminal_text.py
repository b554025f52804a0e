"""Model text shown on a terminal is spelled out, never acted on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rest_checks.terminal_text import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),  # clear screen
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC: set the window title
        ("half\rline", "half\\x0dline"),  # carriage return overwrites the line
        ("\x9b31m", "\\x9b31m"),  # C1 control sequence introducer
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override
        ("\x00\x7f", "\\x00\\x7f"),
    ],
)
def test_control_characters_are_spelled_out(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_newline_tab_and_ordinary_text_are_kept() -> None:
    text = "ANSWER: A=1, B=−2\n\tÜber 3×4 = 12 → 答え \\boxed{12}"
    assert printable(text) == text


@given(st.text())
def test_nothing_that_acts_on_a_terminal_survives(text: str) -> None:
    shown = printable(text)
    for char in shown:
        code = ord(char)
        assert char in "\n\t" or not (code < 0x20 or 0x7F <= code <= 0x9F)
        assert not (0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069)

"""Final-answer extraction and canonicalisation. Pure: no I/O, no model knowledge.

Models are asked to finish with one line ``ANSWER: <answer>`` (``FINAL_ANSWER_PREFIX``).
``extract_answer`` finds the final answer in a reply and says which rule found it;
``canonicalize`` turns what an answer says into a canonical string, so that two answers are
the same answer exactly when their canonical strings are equal. ``None`` means "no answer":
the reply could not be read. The metrics count ``None`` as wrong and as different from
every other answer, ``None`` included. A badly formatted answer counts as wrong, as in the
paper, so the rules below are strict and each is tried only when the one before found
nothing.

Before any rule (``extract_answer``)
    Reasoning blocks (``<think>...</think>``, ``<thinking>``, ``<reasoning>``,
    ``◁think▷``) are set aside: only what follows the last one is read, unless nothing
    does. A marker that quotes the instruction (after ``e.g.``, ``for example``, ``such
    as``, ``of the form``, or in quotes on a line holding ``<answer>``) is no marker.

Extraction order (``extract_answer``; ``Extraction.rule`` names the rule that answered)
    1. ``answer_line``: the last answer marker and the answer block after it.
        A marker is the word ``answer`` followed by a colon, with markdown tolerated
        around it (``ANSWER: B``, ``**Answer:** B``, ``### Final Answer: B``), or a line
        holding nothing but a heading such as ``## Final Answer`` or ``**Answer**``.
        ``ANSWER:`` and ``Answer:`` count anywhere in a line (``Therefore ANSWER: 7``);
        in any other case (``answer:``), and as a heading, the word counts only where a
        line or a sentence starts, after markdown and a few lead words (``the``, ``my``,
        ``final``, ``correct``, ``so``, ``thus``, ``therefore``, ``hence``,
        ``overall``), so that reasoning such as ``to find the answer: add...`` is no
        marker. The *last* marker wins (the model's final word, as when it corrects
        itself after a first ``ANSWER:``), even when an earlier one parses and the last
        does not.
        The answer block starts at the first line after the marker that says something
        (the rest of the marker's own line, or the next line when that is empty; blank
        lines and lines of pure layout such as ``$$``, ``\\[``, ``\\begin{aligned}`` or
        ``**`` are skipped) and must start within ``MAX_ANSWER_CHARS`` characters of the
        marker. The lines that follow belong to the block while they continue the
        answer: for a solution, one more equation (``B = -2``, ``B &= -2 \\\\``), a
        bulleted or numbered equation, or a table row; for a number or a choice, one more
        bare value or letter (so a list of two different values is seen and is no
        answer). A blank line or any other line (prose) ends the block; layout lines are
        skipped. On lines after the marker's own, a leading ``-``, ``*``, ``•`` or
        ``1.`` is a list bullet and is dropped (on the marker's line ``- 41`` is -41). A
        solution's lines are read together; a number's or a choice's lines must agree.
    2. ``boxed``: the last ``\\boxed{...}`` (braces balanced). When there is an answer
        marker whose block gives no answer, only a ``\\boxed{}`` after that block counts
        (a ``\\boxed{}`` inside an unreadable answer line is part of that line). For a
        solution, the boxes of that paragraph are read together, so ``$\\boxed{A = 1}$,
        $\\boxed{B = -2}$`` and ``$A = \\boxed{1}$, $B = \\boxed{-2}$`` are one answer.
        ``answer is:`` (``My final answer is: -2``) is a marker where a sentence starts.
    3. ``whole_reply``: a reply that is nothing but an answer of the task's shape (at
        most ``_WHOLE_REPLY_CHARS`` characters): a letter first (``B``, ``(C) Decrease in
        human capital.``), a number with at most a currency, ``%`` or a unit word, the
        assignments of a solution with no prose, an option's text (given the options);
        with ``lenient`` also a number word (``Two.``).
    4. ``lenient`` (only with ``lenient=True``): the last ``the (final) answer is X``
        (also ``answer would be``, ``answer:`` in mid-sentence) or, for a choice, ``the
        correct option is X``, X read to the end of its sentence; like rule 2, after an
        unreadable answer block when there is one. A number word after a marker
        (``ANSWER: seven``) is read here too.
    5. ``final_sentence`` (only with ``lenient=True``): the reply's last sentence when
        it reads as one answer (``Chase will spend $18.``, ``Option B is correct.``); a
        question or an ``or`` there is no answer.
    Nothing else is read: ``The answer is B`` without a colon counts as wrong unless
    ``lenient``.

Options (``extract_answer(..., options=item.options)``, multiple choice only)
    An answer that is an option's text (case, markdown, quotes and end punctuation
    aside) or its numeric value reads as that option's letter. A letter the item does
    not have is no answer. A letter beside the text or value of another option (``B.
    0.786`` where 0.786 is option D, ``Madrid (B)``) is ambiguous:
    ``Extraction(None, None, ambiguous=True)``, never a silent pick.

After a marker
    A refusal or hedge is no answer for a number or a solution (``cannot be determined``,
    ``either 12 or 13``, ``not enough information``, ``not sure``); a choice's letter
    decides (its option may say ``Cannot be determined``). An explanation after a spaced
    long dash, ``--``, a semicolon, ``because`` or ``since`` is set aside when prose
    follows and it does not start with a hedge (``72 — 180 km over 2.5 h`` is 72;
    ``41 — or maybe 42`` is no answer); for a solution, a remark with another ``=`` is
    part of the answer.

Canonical forms
    choice    one option letter ``"A"``..``"J"``
    number    an integer ``"42"``/``"-7"`` or a reduced fraction ``"-3/2"``, always built
              with ``fractions.Fraction`` (never a float), so ``"2.50" == "2.5" == "5/2"``
    solution  ``"A=1, B=-2"``: assignments sorted by variable, values as for number

Decisions (the paper leaves these open; they are part of the benchmark's definition)
    Length limits: an answer (a block, or a value passed to ``canonicalize``) longer than
        ``MAX_ANSWER_CHARS`` characters is no answer, and so is a number with more than
        ``MAX_DIGITS`` digits in its numerator or denominator. Parsing is linear in the
        length of the reply: the word ``answer`` and ``\\boxed`` are found with plain
        string searches from the end, at most ``_MAX_CANDIDATES`` (500) occurrences of
        the word are examined (a reply repeating it more often after its answer line has
        no answer line), every later step works on a window of a few
        ``MAX_ANSWER_CHARS``, runs of spaces are shortened before any pattern sees them,
        and assignments are split by hand rather than by a backtracking pattern.
    Text clean-up for every type: Unicode NFKC (full-width letters and digits, no-break
        and thin spaces, the fraction slash; ``3½`` is ``3 1/2``), minus signs and en
        dashes as ``-`` (the package's one table, ``rest_checks.dashes``; a spaced long
        dash before prose is an explanation, see above), light LaTeX removed or read
        (``\\boxed``, ``\\text``, ``\\frac{a}{b}``, ``$``, ``\\(``, ``\\quad``,
        ``\\qquad``, ``~``; ``\\\\`` and ``\\begin``/``\\end`` as line breaks, ``&=`` as
        ``=``) and markdown (``**``, backticks, ``*`` that is not between two operands);
        runs of spaces are shortened.
    Emphasis: when a number or choice answer does not read as a whole (a restatement with
        several numbers, a sentence around the letter), the one value in bold
        (``**41**``) is the answer, if exactly one bold part reads as a value and the text
        does not hedge with ``or``.
    choice: leading words such as ``the answer is``, ``option``, ``choice`` are skipped;
        the letter may be bracketed (``(B)``, ``[B]``, ``b)``) and followed by a
        delimiter and the option's text (``B. Paris``, ``B) Paris``, ``B - Paris``,
        ``B (Paris)``). A letter followed by a plain word (``I think ...``, ``a city``) is
        not an option letter. Two letters joined by ``or``, ``and``, ``,``, ``/``, ``&``
        (``A or B``), or a hedge (``B (or C)``, ``B, or maybe C``) are ambiguous: no
        answer. Letters outside A-J: no answer.
    number: ``.`` is the decimal point; ``,`` (and a single space) separate thousands
        only in groups of three digits (``1,234``, ``1 234``), otherwise ``,`` separates
        numbers. Signs must touch the digits (``-3``, ``−3``; ``5-3`` and ``5 - 3`` are
        two numbers), except at the start of the answer or right after ``=``
        (``x = - 3`` is -3). Fractions ``3/4``, ``-3/4``, mixed numbers ``1 1/2``
        (= 3/2), exponents ``1.5e3``. Units, currency and ``%`` are ignored
        (``$12.50`` -> 25/2, ``45%`` -> 45). A parenthesised remark after a value is
        dropped (``41 (27 + 14)``, ``100 minutes (1 hour 40 minutes)``) unless it hedges
        (``41 (or 42)``). ``2\\frac{1}{2}`` and ``2\\tfrac12`` are mixed numbers; the power
        of a unit is not a number (``96 cm^2``, ``5 m^3``). When the text holds ``=`` (or
        ``≈``), only what follows the last one counts (``x = 12`` -> 12, ``12 + 3 = 15``
        -> 15). The rest must hold exactly one distinct value; several different numbers
        (``12 or 13``, ``3 hours 20 minutes``, ``in 14 years he will be 41``) are
        ambiguous: no answer (but see Emphasis). Number words (``twelve``) are read only
        in lenient mode.
    solution: assignments ``VAR = value`` separated by ``,`` ``;`` ``and`` ``&``, line
        breaks, LaTeX spacing or plain spaces, in any order; also the tuple form
        ``(A, B) = (1, -2)``, bulleted or numbered lines (``- A = 1``, ``1. A = 1``) and
        tables, one row per variable (``| A | 1 |``) or a row of names over a row of
        values. Signs may stand apart from the value (``B = - 2``). Variable names (a
        letter, then up to 7 letters, digits or ``_``) are folded to upper case. Pieces
        between assignments may be plain words (``The solution is``) or a parenthesised
        remark after a value; anything else (``2A + B = 7``, a bare number, an ``=`` that
        is not an assignment) makes the answer unparseable. A variable given two
        different values: no answer. A chain takes its last value (``A = 12/4 = 3``;
        ``A = B = 1`` names two variables: no answer). Without any ``=``, two or more
        ``name: value`` pairs with short names (``A: 2, B: -1``) are assignments.
    choice (more): the option's text before its bracketed letter (``Jane Austen (B)``),
        lead words such as ``I think``, ``it is``; a letter denied (``A is wrong``) or
        followed by another bracketed letter (``B (C)``) is no answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from rest_checks.dashes import EM_DASHES, HYPHEN_FOR_DASH
from rest_checks.items.base import ANSWER_TYPES, OPTION_LETTERS, AnswerType
from rest_checks.modalities import FINAL_ANSWER_PREFIX
from rest_checks.number_words import number_word_value

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_DIGITS",
    "RULES",
    "Extraction",
    "Rule",
    "canonicalize",
    "extract_answer",
    "extract_final_answer",
    "format_answer",
    "solution_variables",
]

MAX_ANSWER_CHARS = 1000
MAX_DIGITS = 50

Rule = Literal["answer_line", "boxed", "whole_reply", "lenient", "final_sentence"]
# In the order they are tried; the last two only in lenient mode.
RULES: tuple[Rule, ...] = ("answer_line", "boxed", "whole_reply", "lenient", "final_sentence")


@dataclass(frozen=True)
class Extraction:
    """A reply's final answer (canonical, or ``None`` for no answer) and the rule that
    found it (``None`` exactly when there is no answer). ``ambiguous``: the reply gave a
    letter and quoted the text or value of another option, so there is no answer."""

    answer: str | None
    rule: Rule | None
    ambiguous: bool = False


_NONE = Extraction(None, None)
_AMBIGUOUS_READING = Extraction(None, None, ambiguous=True)
# What the internal readers return for a letter that contradicts the option it quotes.
_AMBIGUOUS = "\x00ambiguous"
Options = tuple[str, ...]

# ---------------------------------------------------------------------------------------
# Finding the answer marker

_MARKER_WORD = FINAL_ANSWER_PREFIX.rstrip(":：").strip()
_WORD = _MARKER_WORD.lower()
# The word as the prompt writes it, and capitalised: a marker anywhere in a line.
_CASED = (_MARKER_WORD.upper(), _MARKER_WORD.title())
# A colon after the word, markdown before it ("**Answer**:") or after it ("**Answer:**").
_COLON = re.compile(
    r"[ \t]{0,3}(?:\*{1,2}|_{1,2})?[ \t]{0,3}[:：](?:[ \t]{0,3}(?:\*{1,2}|_{1,2}))?"
)
# A heading with no colon: only markdown after the word, up to the end of the line.
_HEADING_END = re.compile(r"(?:[ \t]{0,3}(?:\*{1,2}|_{1,2}|#{1,6}))?[ \t]{0,3}(?=\r|\n|\Z)")
# What may stand before a lower-case marker or a heading, from the start of its line or
# sentence: markdown, then a few lead words ("**Final Answer:**", "So the answer:").
_LEAD = re.compile(
    r"[ \t>#*_\-]{0,12}(?:(?:the|my|our|final|correct|so|thus|therefore|hence|overall)"
    r"[ \t,]{1,3}(?:\*{1,2}|_{1,2})?){0,4}"
)
_LEAD_REACH = 80
# "answer is:" (a colon after "is"), read like a lower-case marker: "My final answer is: -2".
_IS_COLON = re.compile(
    r"[ \t]{1,3}(?:is|would[ \t]be)[ \t]{0,3}(?:\*{1,2})?[:：](?:[ \t]{0,3}\*{1,2})?"
)
# Occurrences of the word examined, from the last one back: a bound on the work a reply
# full of the word can cause. One that repeats it more often after its answer line has
# no answer line.
_MAX_CANDIDATES = 500
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lowered(raw: str) -> str:
    """``raw`` in lower case, position for position."""
    low = raw.lower()
    return low if len(low) == len(raw) else raw.translate(_ASCII_LOWER)


def _candidates(raw: str, low: str, lo: int) -> Iterator[int]:
    """Where the word stands alone in ``raw[lo:]``, last first, at most ``_MAX_CANDIDATES``
    places looked at."""
    hi = len(raw)
    for _ in range(_MAX_CANDIDATES):
        pos = low.rfind(_WORD, lo, hi)
        if pos < 0:
            return
        end = pos + len(_WORD)
        if not (pos > 0 and raw[pos - 1].isalpha()) and not (end < len(raw) and raw[end].isalpha()):
            yield pos
        hi = pos


def _marker_end_at(raw: str, low: str, pos: int) -> int | None:
    """Where the answer begins when the word at ``pos`` is an answer marker, else None."""
    end = pos + len(_WORD)
    colon = _COLON.match(raw, end)
    if colon is not None and raw[pos:end] in _CASED:
        return colon.end()
    found = colon or _IS_COLON.match(raw, end) or _HEADING_END.match(raw, end)
    if found is None:
        return None
    # Lower case, or a heading: only where a line or a sentence starts.
    reach = max(0, pos - _LEAD_REACH)
    line = max(low.rfind("\n", reach, pos), low.rfind("\r", reach, pos))
    sentence = max(low.rfind(c, reach, pos) for c in ".!?")
    begin = max(line, sentence) + 1
    if begin == 0 and reach > 0:
        return None
    return found.end() if _LEAD.fullmatch(low, begin, pos) else None


# Before a marker that quotes the instruction rather than answers: "e.g. 'ANSWER: 42'",
# "of the form ANSWER: <answer>", an opening quote on a line that quotes the prompt.
_QUOTING = re.compile(
    r"(?:\be\.\s?g\.?|\bfor (?:example|instance)|\bsuch as|\b(?:of|in) the form(?: of)?"
    r"|\bformat(?:ted)?(?: as| like)?)[\s,:]*[\"'`‘“]?[ \t]*$",
    re.IGNORECASE,
)
_OPEN_QUOTE = re.compile(r"[\"'`‘“][ \t]*$")
_PLACEHOLDER = re.compile(r"<\s*answer\s*>|\be\.\s?g\.", re.IGNORECASE)


def _is_quotation(raw: str, pos: int) -> bool:
    """Whether the marker at ``pos`` quotes the instruction (an example of the format)."""
    line_start = max(raw.rfind("\n", 0, pos), raw.rfind("\r", 0, pos)) + 1
    before = raw[max(line_start, pos - _LEAD_REACH) : pos]
    if _QUOTING.search(before):
        return True
    if _OPEN_QUOTE.search(before) is None:
        return False
    line_end = raw.find("\n", pos, pos + MAX_ANSWER_CHARS)
    line = raw[line_start : pos + MAX_ANSWER_CHARS if line_end < 0 else line_end]
    return _PLACEHOLDER.search(line) is not None


def _last_marker_end(raw: str, low: str) -> int | None:
    """Where the text after the last answer marker begins, or None without a marker.
    A marker that quotes the instruction is none."""
    for pos in _candidates(raw, low, 0):
        end = _marker_end_at(raw, low, pos)
        if end is not None and not _is_quotation(raw, pos):
            return end
    return None


# ---------------------------------------------------------------------------------------
# Reasoning blocks

# Closing tags of the reasoning blocks models write before their answer.
_REASONING_END = re.compile(
    r"</\s*(?:think|thinking|thought|reasoning|reflection)\s*>|◁/think▷", re.IGNORECASE
)


def _after_reasoning(raw: str) -> str:
    """What follows the last reasoning block (``<think>...</think>``), or all of ``raw``
    when nothing does: a draft answer inside the reasoning never beats the final one."""
    if "</" not in raw and "◁/" not in raw:
        return raw
    last = None
    for found in _REASONING_END.finditer(raw):
        last = found
    if last is None or not raw[last.end() :].strip():
        return raw
    return raw[last.end() :]


# ---------------------------------------------------------------------------------------
# The answer block after a marker

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A line of layout only: whitespace, $, \[ \], \( \), \\, \begin{..}{..}, \end{..}, code
# fences, \hline, markdown and table rules.
_LAYOUT_LINE = re.compile(
    r"(?:[\s$*_#>|:\-]|\\[\[\]()\\]|\\hline|\\(?:begin|end)\{[A-Za-z*]{1,20}\}"
    r"(?:\{[A-Za-z|]{0,20}\})?|```[A-Za-z]{0,12})*"
)
# A list bullet or number at the start of a line (the marker's own line keeps its "-").
_BULLET = re.compile(r"[ \t>]*(?:[-*•+]|[0-9]{1,2}[.)])[ \t]+")
_VAR = r"[A-Za-z][A-Za-z0-9_]{0,7}"
_VAR_NAME = re.compile(_VAR)
_EQUATION_LINE = re.compile(rf"(?:and )?[(\[]?{_VAR} {{0,2}}=")
_BARE_LETTER = re.compile(rf"[(\[]?[{OPTION_LETTERS}{OPTION_LETTERS.lower()}][)\]]?\.?")


def _lines(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """The lines of ``text[start:end]`` as (line, start, end of its line break)."""
    pos = start
    while pos < end:
        brk = _LINE_BREAK.search(text, pos, end)
        if brk is None:
            yield text[pos:end], pos, end
            return
        yield text[pos : brk.start()], pos, brk.end()
        pos = brk.end()


def _answer_block(raw: str, start: int, answer_type: AnswerType) -> tuple[list[str] | None, int]:
    """The lines of the answer after a marker ending at ``start`` (see the module
    docstring), or None when there is none, with where the block ends."""
    window = min(len(raw), start + 2 * MAX_ANSWER_CHARS + 2)
    parts: list[str] = []
    size = 0
    block_end = start
    for line, line_start, line_end in _lines(raw, start, window):
        if line_end == window < len(raw) and raw[window - 1] not in "\r\n":
            return None, block_end  # runs past the window: too long to be an answer
        if not line.strip():
            if parts:
                break
            continue
        if _LAYOUT_LINE.fullmatch(line):
            continue
        if not parts:
            if line_start - start > MAX_ANSWER_CHARS:
                return None, block_end
            # The marker's own line keeps a leading "-" (a sign); later lines lose bullets.
            body = line if line_start == start else _strip_bullet(line)
        else:
            continued = _continuation(line, answer_type)
            if continued is None:
                break
            body = continued
        parts.append(body)
        block_end = line_end
        size += len(body) + 1
        if size > MAX_ANSWER_CHARS + 1:
            return None, block_end
    return parts or None, block_end


def _strip_bullet(line: str) -> str:
    found = _BULLET.match(line)
    return line[found.end() :] if found else line


def _continuation(line: str, answer_type: AnswerType) -> str | None:
    """The line without its bullet when it continues an answer of this type, else None."""
    body = _strip_bullet(line)
    text = _clean(body)
    if not text:
        return None
    if answer_type == "solution":
        fits = "|" in text or _EQUATION_LINE.match(text) is not None
    elif answer_type == "number":
        fits = _parse_single_number(text.translate(_CURRENCY)) is not None
    else:
        fits = _BARE_LETTER.fullmatch(text) is not None
    return body if fits else None


def _canonical_block(parts: list[str], answer_type: AnswerType, options: Options) -> str | None:
    if answer_type == "solution" or len(parts) == 1:
        return _canonical("\n".join(parts), answer_type, options)
    found = {_canonical(part, answer_type, options) for part in parts}
    if _AMBIGUOUS in found:
        return _AMBIGUOUS
    return found.pop() if len(found) == 1 else None


# ---------------------------------------------------------------------------------------
# \boxed{} and "the answer is"

_BOXED = "\\boxed"
_PARAGRAPH_BREAK = re.compile(r"\r?\n[ \t]*\r?\n")


def _boxed_at(raw: str, at: int) -> tuple[str, int] | None:
    """The contents of the ``\\boxed{...}`` at ``at`` (braces balanced) and where it ends."""
    pos = at + len(_BOXED)
    while pos < len(raw) and raw[pos] == " ":
        pos += 1
    if pos >= len(raw) or raw[pos] != "{":
        return None
    depth = 0
    limit = min(len(raw), pos + MAX_ANSWER_CHARS + 2)
    for i in range(pos, limit):
        ch = raw[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return raw[pos + 1 : i], i + 1
    return None


def _boxed_answer(raw: str, lo: int, answer_type: AnswerType, options: Options) -> str | None:
    """The canonical answer of the last ``\\boxed{}`` in ``raw[lo:]``; for a solution,
    of the boxes of its paragraph read together."""
    at = raw.rfind(_BOXED, lo)
    if at < 0:
        return None
    last = _boxed_at(raw, at)
    if last is None:
        return None
    content, end = last
    if answer_type != "solution":
        return _canonical(content, answer_type, options)
    # The paragraph of the last box, at most MAX_ANSWER_CHARS before it.
    first = max(lo, at - MAX_ANSWER_CHARS)
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(raw, first, at)]
    first = breaks[-1] if breaks else first
    contents = []
    pos = raw.find(_BOXED, first, at + len(_BOXED))
    while 0 <= pos <= at:
        box = _boxed_at(raw, pos)
        if box is not None:
            contents.append(box[0])
        pos = raw.find(_BOXED, pos + len(_BOXED), at + len(_BOXED))
    if len(contents) > 1 and all("=" in c for c in contents):
        return canonicalize(", ".join(contents), "solution")
    if len(contents) > 1 or "=" not in content:
        # "A = \boxed{1}, B = \boxed{-2}": the names stand outside the boxes.
        line_start = max(raw.rfind("\n", first, at), first - 1) + 1
        line_end = raw.find("\n", end)
        line_end = len(raw) if line_end < 0 else line_end
        found = canonicalize(raw[line_start:line_end], "solution")
        if found is not None:
            return found
    return canonicalize(content, "solution")


# After the word: "is", "would be", ... or a colon or "=" (in mid-sentence).
_PHRASE_AFTER = re.compile(
    r"[ \t]{1,3}(?:is|was|would[ \t]be|will[ \t]be|should[ \t]be)(?![A-Za-z])[ \t]{0,3}[:：]?"
    r"|[ \t]{0,3}[:：=]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)|\s(?:because|since|as|which)\s", re.IGNORECASE)


# "the correct option is (D)", "the right choice would be B": a choice named as the answer.
_OPTION_PHRASE = re.compile(
    r"\b(?:correct|right|best|final)[ \t]+(?:option|choice|letter)[ \t]+"
    r"(?:is|would[ \t]be|will[ \t]be|should[ \t]be)(?![A-Za-z])[ \t]{0,3}[:：]?",
    re.IGNORECASE,
)


def _phrase_answer(
    raw: str, low: str, lo: int, answer_type: AnswerType, options: Options
) -> str | None:
    """The canonical answer of the last "the answer is X" in ``raw[lo:]`` (for a choice,
    also "the correct option is X", whichever comes last); a number may be a word."""
    start = None
    for pos in _candidates(raw, low, lo):
        found = _PHRASE_AFTER.match(raw, pos + len(_WORD))
        if found is not None and not _is_quotation(raw, pos):
            start = found.end()
            break
    if answer_type == "choice":
        # The window keeps the search linear; a phrase further back than the last
        # answer phrase loses to it anyway.
        window = max(lo, (start or 0) - len(_WORD), len(raw) - 50 * MAX_ANSWER_CHARS)
        for option in _OPTION_PHRASE.finditer(raw, window):
            start = option.end()
    if start is None:
        return None
    stop = start + MAX_ANSWER_CHARS + 1
    brk = _LINE_BREAK.search(raw, start, stop)
    text = raw[start : brk.start() if brk else stop]
    # The full stop of "B. 0.786" ends the letter, not the sentence: what follows may
    # quote the option.
    letter = _LETTER_STOP.match(text) if answer_type == "choice" else None
    end = _SENTENCE_END.search(text, letter.end() if letter else 1)
    text = text[: end.start()] if end else text
    return _canonical(text, answer_type, options) or _number_word(text, answer_type)


_LETTER_STOP = re.compile(rf"\s*[(\[]?[{OPTION_LETTERS}][)\]]?\.(?=\s)")


def _number_word(text: str, answer_type: AnswerType) -> str | None:
    if answer_type != "number":
        return None
    value = number_word_value(text.replace("*", ""))
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------
# A reply that is nothing but its answer, and a final sentence (lenient)

_WHOLE_REPLY_CHARS = 300
# A letter (maybe bracketed) first, then the end, a delimiter or the option's text.
_LETTER_FIRST = re.compile(
    rf"[(\[]?[ ]?[{OPTION_LETTERS}{OPTION_LETTERS.lower()}][ ]?[)\]]?(?:[ .:;,)\-]|$)"
)
# A number with at most a currency sign, a percent sign or a unit word around it.
_NUMBER_SHAPE = re.compile(r"[$€£¥]? ?[-+]?[0-9][0-9,. /]*(?: ?%| [A-Za-z]{1,12})?\.?")
# The names before "=" (or ":") in a solution written alone.
_NAMED = re.compile(rf"{_VAR} ?[=:]")


def _whole_reply_answer(
    raw: str, answer_type: AnswerType, lenient: bool, options: Options, variables: Sequence[str]
) -> str | None:
    """The answer when the whole reply is nothing but an answer of the task's shape: a
    letter (with its option's text), a number, the values of the unknowns (named, or in
    the order of ``variables``); in lenient mode also a number word ("Two.")."""
    text = raw.strip()
    if not text or len(text) > _WHOLE_REPLY_CHARS:
        return None
    clean = _clean(text)
    if not clean:
        return None
    if answer_type == "choice":
        if "\n" in clean:
            return None
        if _LETTER_FIRST.match(clean) is None:
            return _named_option(clean, options)  # the option's text alone
        found = _canonical_choice(clean, lead_words=False)
        return _checked_letter(found, clean, options) if found is not None else None
    if answer_type == "number":
        if _NUMBER_SHAPE.fullmatch(clean) is not None:
            return canonicalize(text, "number")
        return _number_word(clean, answer_type) if lenient else None
    rest = _NAMED.sub(" ", clean)
    if re.search(r"[A-Za-z]", re.sub(r"\band\b", " ", rest, flags=re.IGNORECASE)):
        return None  # prose around the values
    if "=" not in clean and ":" not in clean:
        return _values_in_order(clean, variables)
    return canonicalize(text, "solution")


_VALUE_LIST_SPLIT = re.compile(r"\s*[,;]\s*")


def _values_in_order(text: str, variables: Sequence[str]) -> str | None:
    """``34, 29`` (or ``(34, 29)``) as the values of the item's unknowns in their order,
    when there are exactly as many values as unknowns."""
    body = text.strip().rstrip(".").strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    values = _VALUE_LIST_SPLIT.split(body)
    if len(variables) < 2 or len(values) != len(variables):
        return None
    parsed = [_parse_single_number(value) for value in values]
    if any(value is None for value in parsed):
        return None
    pairs = ", ".join(f"{name} = {value}" for name, value in zip(variables, parsed, strict=True))
    return canonicalize(pairs, "solution")


_SENTENCE_BREAK = re.compile(r"[.!?](?=\s)")


def _final_sentence_answer(
    raw: str, lo: int, answer_type: AnswerType, options: Options
) -> str | None:
    """The answer of the reply's last sentence, when it holds exactly one ("Chase will
    spend $18.", "Option B is correct."); a question or a hedge there is no answer."""
    tail = raw[max(lo, len(raw) - MAX_ANSWER_CHARS) :].rstrip()
    lines = [
        line for line in tail.splitlines() if line.strip() and not _LAYOUT_LINE.fullmatch(line)
    ]
    if not lines:
        return None
    line = lines[-1].strip()
    if line.endswith("?"):
        return None
    breaks = [m.end() for m in _SENTENCE_BREAK.finditer(line, 0, len(line) - 1)]
    sentence = line[breaks[-1] :] if breaks else line
    if _HEDGE_WORD.search(sentence) or _WORD in _lowered(sentence):
        return None  # an "answer" the rules before could not read is not read here either
    return _canonical(sentence, answer_type, options) or _number_word(sentence, answer_type)


# ---------------------------------------------------------------------------------------
# What is set aside after an answer, and what is no answer

# A remark after the answer, when prose follows: a long dash or "--" with spaces around
# it, a semicolon (not LaTeX's "\;"), "because" or "since" ("72 — 180 km over 2.5 h",
# "C because plants ...", "A = 3, B = -2 — both check out").
# Each branch starts right after a non-space, so that a long run of spaces is scanned once.
_EXPLANATION = re.compile(
    rf"(?<=\S)[ \t]+(?:[{EM_DASHES}]|--)[ \t]|(?<!\\);|(?<=\S)[ \t,]+(?:because|since)[ \t]",
    re.IGNORECASE,
)
_PROSE = re.compile(r"[A-Za-z]{2,}")
# A remark that offers another answer is a hedge, not an explanation: it stays.
_HEDGE_START = re.compile(
    r"[*_ ]*(?:or|maybe|possibly|perhaps|but|though|although|unless|alternatively|otherwise|"
    r"either|no|wait|actually|sorry|correction|i mean|rather)\b",
    re.IGNORECASE,
)
# An answer that declines to answer or offers several: no answer, whatever number it holds
# ("cannot be determined", "either 12 or 13", "not enough information").
_REFUSAL = re.compile(
    r"\b(?:cannot|can ?not|can't|unable|impossible|undetermin\w*|indetermin\w*|insufficient|"
    r"unclear|illegible|unreadable|either\b.{0,60}?\bor|n/a|not (?:be )?(?:enough|possible|"
    r"determin\w*|sure|certain|clear|known|given|legible|readable|visible|provided|"
    r"specified|stated)|no (?:answer|solution|unique|way))\b",
    re.IGNORECASE,
)


def _set_aside_explanation(value: str, answer_type: AnswerType) -> str:
    """``value`` without a trailing explanation (see ``_EXPLANATION``). The explanation
    must be prose: two words at least after a dash or a semicolon ("5 — 7 apples" is a
    range, not 5 explained), and a word first after a semicolon ("1/2 cup; 3 tablespoons"
    is two amounts). For a solution, a remark that holds another ``=`` is more of the
    answer, not an explanation."""
    if len(value) > MAX_ANSWER_CHARS:
        return value  # too long to be an answer anyway; not worth a search
    if (
        not any(c in value for c in ";-" + EM_DASHES)
        and "ecause" not in value
        and ("ince" not in value)
    ):
        return value
    for m in _EXPLANATION.finditer(value):
        rest = value[m.end() :]
        if _HEDGE_START.match(rest):
            return value
        if answer_type == "solution" and ("=" in rest or ":" in rest):
            continue
        separator = m.group(0).strip(" \t,").lower()
        if separator in ("because", "since"):
            return value[: m.start()]
        if separator == ";" and _WORD_FIRST.match(rest) is None:
            continue
        if len(_PROSE.findall(rest, 0, 200)) >= 2:
            return value[: m.start()]
    return value


_WORD_FIRST = re.compile(r"[\s*_]*[A-Za-z]")


# ---------------------------------------------------------------------------------------
# Clean-up shared by all answer types

_SLASHES = dict.fromkeys(map(ord, "\u2044\u2215"), "/")
_ODD_SPACES = dict.fromkeys(map(ord, "\t\f\v\r~✓✔✅"), " ")
# "3½" is three and a half, not "31/2" as NFKC would have it.
_VULGAR_AFTER_DIGIT = re.compile(r"(?<=[0-9])(?=[\u00bc-\u00be\u2150-\u215e])")
_SPACE_RUN = re.compile(r" {3,}")
_SPACED_BREAK = re.compile(r" *\n *")
_LATEX_BREAK = re.compile(
    r"\\\\(?:\[[^\]\n]{0,20}\])?|\\(?:begin|end)\{[A-Za-z*]{1,20}\}(?:\{[A-Za-z|]{0,20}\})?"
)
_LATEX_SPACE = re.compile(
    r"\\(?:q?quad|enspace|hline|checkmark|implies|Rightarrow|rightarrow|Longrightarrow|"
    r"therefore|to)(?![A-Za-z])|\\hspace\*?\{[^{}]{0,20}\}"
)
_ALIGNED_EQUALS = re.compile(r"& ?= ?&?|= ?&")
_LATEX_WRAPPER = re.compile(
    r"\\(?:boxed|text|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname)\s*\{([^{}]{0,1000})\}"
)
# \frac{a}{b}, and \frac12 (one-digit arguments need no braces).
_LATEX_FRAC = re.compile(
    r"\\[dt]?frac\s*(?:\{([^{}]{1,200})\}|([0-9]))\s*(?:\{([^{}]{1,200})\}|([0-9]))"
)
_SIMPLE_NUMBER = re.compile(r"\s*[-+]?\s*[0-9]+(?:\.[0-9]+)?\s*")
_LATEX_DROP = re.compile(r"\\(?:left|right|displaystyle|[,;:!\s()\[\]])|\{,\}")
_LATEX_SYMBOL = re.compile(r"\\([$%&])")
# The power of a unit: "cm^2", "m^3", "s^-1" (a letter before "^"; "2^3" stays).
_UNIT_POWER = re.compile(r"(?<=[A-Za-z]) ?\^ ?[-+]?[0-9]{1,2}(?![0-9])")
# Emphasis asterisks: any run not standing between two operands (keeps "2*3").
_EMPHASIS = re.compile(r"(?<![\w)])\*+|\*+(?![\w(])|(?<!\w)__|__(?!\w)|`+")


def _frac(match: re.Match[str]) -> str:
    num = match.group(1) or match.group(2)
    den = match.group(3) or match.group(4)
    if _SIMPLE_NUMBER.fullmatch(num) and _SIMPLE_NUMBER.fullmatch(den):
        # A whole number glued before it makes a mixed number: 2\frac{1}{2} is 2 1/2.
        start = match.start()
        glued = start > 0 and match.string[start - 1].isdigit()
        return f"{' ' if glued else ''}{num.strip()}/{den.strip()}"
    return f"({num})/({den})"


def _short_spaces(text: str) -> str:
    return _SPACED_BREAK.sub("\n", _SPACE_RUN.sub("  ", text.translate(_ODD_SPACES)))


def _clean(value: str) -> str | None:
    """Normalised text, or None when it is too long to be an answer."""
    if len(value) > MAX_ANSWER_CHARS:
        return None
    text = _VULGAR_AFTER_DIGIT.sub(" ", value.replace("\r\n", "\n"))
    text = unicodedata.normalize("NFKC", text).translate(HYPHEN_FOR_DASH).translate(_SLASHES)
    text = _short_spaces(text)
    if "\\" in text:
        text = _LATEX_BREAK.sub("\n", text)
        text = _LATEX_SPACE.sub(" ", text).replace("\\approx", "≈")
        text = _LATEX_SYMBOL.sub(r"\1", text)
        # Innermost groups first; a few rounds cover any nesting an answer plausibly has.
        for _ in range(5):
            new = _LATEX_WRAPPER.sub(r"\1", _LATEX_FRAC.sub(_frac, text))
            if new == text:
                break
            text = new
        text = _LATEX_DROP.sub("", text)
    if "&" in text:
        text = _ALIGNED_EQUALS.sub("=", text)
    text = text.replace("$", "").replace("{", "").replace("}", "")
    if "^" in text:
        text = _UNIT_POWER.sub("", text)
    if "*" in text or "_" in text or "`" in text:
        text = _EMPHASIS.sub("", text)
    return _short_spaces(text).strip()


def _drop_remarks(text: str) -> str:
    """``text`` without parenthesised remarks after a value or word: ``41 (27 + 14)`` is
    ``41``. A group right after an operator, at the start, or touching the text before it
    (``2(3)``, ``(1+2)/(3)``, ``= (1, -2)``) is no remark; nor is a hedge ``(or 42)``."""
    if "(" not in text:
        return text
    closing: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            closing[stack.pop()] = i
    kept: list[str] = []
    pos = 0
    i = text.find("(")
    while i >= 0:
        j = closing.get(i)
        if j is None:
            i = text.find("(", i + 1)
            continue
        if _is_remark(text, i, j):
            kept.append(text[pos:i].rstrip())
            pos = j + 1
        i = text.find("(", j + 1)
    kept.append(text[pos:])
    return "".join(kept)


_HEDGE = re.compile(r"\s*(?:or|maybe|possibly|perhaps)\b", re.IGNORECASE)


def _is_remark(text: str, i: int, j: int) -> bool:
    if i < 2 or text[i - 1] != " ":
        return False
    before = text[i - 2] if text[i - 2] != " " else text[i - 3 : i - 2]
    if not before or not (before.isalnum() or before in "%.)"):
        return False
    after = text[j + 1 : j + 3].strip()
    if after and after[0] in "/*^":
        return False
    return _HEDGE.match(text, i + 1, j) is None


# ---------------------------------------------------------------------------------------
# Numbers

# An unsigned integer: thousands groups of exactly three digits, or plain digits.
_INT = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]{1,3}(?: [0-9]{3})+(?![0-9])|[0-9]+)"
_DEC = rf"(?:{_INT}(?:\.[0-9]+)?|\.[0-9]+)"
_NUMBER_BODY = (
    r"(?P<sign>[-+]?)(?:"
    r"(?P<whole>[0-9]+)[ ]+(?P<mnum>[0-9]+)[ ]*/[ ]*(?P<mden>[0-9]+)"  # mixed: 1 1/2
    rf"|(?P<num>{_DEC})(?:[ ]*/[ ]*(?P<den>[-+]?{_DEC}))?"
    r"(?:[eE](?P<exp>[-+]?[0-9]{1,3}))?"
    r")"
)
# In running text a number must not continue a word or another number.
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])" + _NUMBER_BODY)
_NUMBER_ALONE = re.compile(r"\s*" + _NUMBER_BODY + r"\s*")
# A sign standing apart from its number at the start: "- 2" is -2.
_LOOSE_SIGN = re.compile(r"\s*([-+])\s{1,3}(?=[0-9.])")
_EQUALS = re.compile(r"[=≈]")
_CURRENCY = str.maketrans("", "", "$€£¥%")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _fraction_of(text: str) -> Fraction:
    return Fraction(text.replace(",", "").replace(" ", ""))


def _number_value(m: re.Match[str]) -> Fraction | None:
    """The value of one number match; None for a zero denominator or absurd size."""
    if _digits(m.group(0)) > MAX_DIGITS:
        return None
    if m.group("whole") is not None:
        den = int(m.group("mden"))
        if den == 0:
            return None
        value = int(m.group("whole")) + Fraction(int(m.group("mnum")), den)
    else:
        value = _fraction_of(m.group("num"))
        if m.group("den") is not None:
            den_value = _fraction_of(m.group("den"))
            if den_value == 0:
                return None
            value /= den_value
        if m.group("exp") is not None:
            value *= Fraction(10) ** int(m.group("exp"))
    if m.group("sign") == "-":
        value = -value
    if max(_digits(str(value.numerator)), _digits(str(value.denominator))) > MAX_DIGITS:
        return None
    return value


def _format_number(value: Fraction) -> str:
    # str(Fraction) is exactly the canonical form: "42", "-7", "-3/2".
    return str(value)


def _join_loose_sign(text: str) -> str:
    m = _LOOSE_SIGN.match(text)
    return m.group(1) + text[m.end() :] if m else text


def _canonical_number(text: str) -> str | None:
    text = _drop_remarks(text.translate(_CURRENCY))
    if "=" in text and _HEDGE_WORD.search(text):
        # "x = 2 or x = 3": each side of "or" has its own last "=".
        sides = {_canonical_number(side) for side in _HEDGE_WORD.split(text)}
        return sides.pop() if len(sides) == 1 else None
    segment = _join_loose_sign(_EQUALS.split(text)[-1])
    values: set[Fraction] = set()
    seen: set[str] = set()
    for m in _NUMBER_IN_TEXT.finditer(segment):
        if m.group(0) in seen:
            continue  # the same number written again
        seen.add(m.group(0))
        value = _number_value(m)
        if value is None:
            return None
        values.add(value)
        if len(values) > 1:
            return None
    if len(values) != 1:
        return None
    return _format_number(values.pop())


def _parse_single_number(text: str) -> Fraction | None:
    m = _NUMBER_ALONE.fullmatch(_join_loose_sign(text))
    if m is None:
        return None
    return _number_value(m)


# ---------------------------------------------------------------------------------------
# Choices

_LETTERS = OPTION_LETTERS + OPTION_LETTERS.lower()
_CHOICE_LEAD = re.compile(
    r"(?:(?:the|my|final|correct|right|best|answer|option|choice|letter|is|would\s+be|"
    r"will\s+be|it['’]s|it|i\s+think|i\s+believe|i\s+would\s+say|i'd\s+say)\b[\s:.,-]*)+",
    re.IGNORECASE,
)
# Words before a bracketed letter that turn it down: "Not (B)", "Anything except (C)".
_NEGATION = re.compile(
    r"\b(?:not|never|neither|nor|except|isn't|wrong|incorrect|false)\b", re.IGNORECASE
)
# The option's text, then its letter in brackets: "Jane Austen (B)".
_TEXT_THEN_LETTER = re.compile(
    rf"(?P<text>[^()\[\]\n]{{1,300}}?)\s*[(\[](?P<letter>[{OPTION_LETTERS}{OPTION_LETTERS.lower()}])[)\]]\s*\.?"
)
_CHOICE = re.compile(
    rf"(?P<open>[(\[])?[ ]*(?P<letter>[{_LETTERS}])[ ]*(?P<close>[)\]])?(?P<rest>.*)",
    re.DOTALL,
)
_CHOICE_AMBIGUOUS = re.compile(
    rf"\s*(?:,|/|&|\+|\bor\b|\band\b)\s*(?:option\s+)?[(\[]?\s*[{_LETTERS}]\s*[)\]]?"
    r"\s*(?:[.,:;)\]/&]|\bor\b|\band\b|$)",
    re.IGNORECASE,
)
# "B (or C)", "B, or maybe C": a second option offered as well.
_CHOICE_HEDGE = re.compile(
    r"\(\s*(?:or|maybe|possibly|perhaps)\b"
    r"|\b(?:or|though|although|but|maybe|possibly|perhaps|alternatively|otherwise)\s+"
    r"(?:maybe\s+|possibly\s+|perhaps\s+|also\s+)?(?:option\s+)?[(\[]?"
    # A capital option letter standing alone ("I" only where it cannot be the pronoun).
    r"(?-i:[A-HJ](?![A-Za-z'’])|I(?=[)\].,;]|\s*$))",
    re.IGNORECASE,
)
# A second letter in brackets right after the first: "B (C)".
_BRACKETED = re.compile(rf"\s*[(\[]\s*[{_LETTERS}]\s*[)\]]")
# Another option letter in brackets later on: "(B) Paris — no wait, (D) Rome".
_ANOTHER_BRACKETED = re.compile(rf"(?<![A-Za-z])[(\[]\s*[{OPTION_LETTERS}]\s*[)\]]")
# "A is wrong", "B is not correct", "C is incorrect".
_DENIED = re.compile(
    r"\s*(?:is|was|would\s+be)\s+(?:not|wrong|incorrect|false|unlikely|eliminated|ruled)\b",
    re.IGNORECASE,
)
# After the letter: a delimiter and then anything (the option's text), or "is ...".
_CHOICE_TAIL = re.compile(r"\s*(?:[.:;,)\]\-(!]|is\b)")


def _canonical_choice(text: str, *, lead_words: bool = True) -> str | None:
    text = text.replace("*", "").replace("_", "").strip(" \t\"'")
    lead = _CHOICE_LEAD.match(text) if lead_words else None
    if lead is not None:
        text = text[lead.end() :]
    named = _TEXT_THEN_LETTER.fullmatch(text)
    if (
        named is not None
        and _PROSE.search(named.group("text")) is not None
        and _HEDGE_WORD.search(named.group("text")) is None
        and _NEGATION.search(named.group("text")) is None
    ):
        return named.group("letter").upper()
    m = _CHOICE.match(text)
    if m is None:
        return None
    rest = m.group("rest")
    if _CHOICE_AMBIGUOUS.match(rest) or _CHOICE_HEDGE.search(rest) or _BRACKETED.match(rest):
        return None
    letter = m.group("letter").upper()
    if any(other.group(0).strip("([ ])") != letter for other in _ANOTHER_BRACKETED.finditer(rest)):
        return None  # a second option letter named in brackets
    bracketed = m.group("open") is not None or m.group("close") is not None
    if rest.strip() and not bracketed and _CHOICE_TAIL.match(rest) is None:
        return None  # "I think ...", "a city": a word, not an option letter
    if _DENIED.match(rest):
        return None  # "A is wrong": a letter set aside, not chosen
    if m.group("open") is not None and m.group("close") is None:
        return None  # "(B" alone is not a bracketed letter
    return m.group("letter").upper()


# ---------------------------------------------------------------------------------------
# The item's options: an option named by its text or value, a letter that contradicts one

_OPTION_EDGES = " \t\"'“”‘’.!:;,()[]"


def _option_key(text: str) -> str:
    """An option's text as compared: cleaned, case-folded, single-spaced, no quotes,
    brackets or end punctuation."""
    clean = (_clean(text) or "").replace("*", "").replace("`", "").casefold()
    return " ".join(clean.split()).strip(_OPTION_EDGES)


def _option_value(text: str) -> str | None:
    """The canonical number a text is, when it is nothing but a number (with a unit)."""
    clean = _clean(text)
    if not clean or _NUMBER_SHAPE.fullmatch(clean.strip(_OPTION_EDGES) + "") is None:
        return None
    return _canonical_number(clean)


def _named_option(text: str, options: Options) -> str | None:
    """The letter of the one option whose text or numeric value ``text`` is (an
    explanation after it set aside), else None."""
    if not options or not text.strip():
        return None
    pieces = {text, _set_aside_explanation(text, "choice"), re.split(r"[,(;]", text, maxsplit=1)[0]}
    found: set[int] = set()
    for piece in pieces:
        key = _option_key(piece)
        if not key:
            continue
        value = _option_value(piece)
        for i, option in enumerate(options[: len(OPTION_LETTERS)]):
            if key == _option_key(option) or (value is not None and value == _option_value(option)):
                found.add(i)
    return OPTION_LETTERS[found.pop()] if len(found) == 1 else None


def _checked_letter(letter: str, body: str, options: Options) -> str | None:
    """``letter`` checked against the item's options: None when the item has no such
    option, ``_AMBIGUOUS`` when the text beside it is the text or value of another."""
    if not options:
        return letter
    if OPTION_LETTERS.index(letter) >= len(options):
        return None
    named = _TEXT_THEN_LETTER.fullmatch(body)
    if named is not None:
        beside = named.group("text")
    else:
        m = _CHOICE.match(body)
        beside = m.group("rest") if m is not None else ""
    other = _named_option(beside.strip(_OPTION_EDGES + "-"), options)
    return _AMBIGUOUS if other is not None and other != letter else letter


# ---------------------------------------------------------------------------------------
# Emphasis: the one bold value in a sentence

_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_HEDGE_WORD = re.compile(r"\bor\b", re.IGNORECASE)


def _emphasised(value: str, answer_type: AnswerType) -> str | None:
    found = set()
    for m in _BOLD.finditer(value):
        text = _clean(m.group(1))
        if text:
            one = _canonical_number(text) if answer_type == "number" else _canonical_choice(text)
            if one is not None:
                found.add(one)
    return found.pop() if len(found) == 1 else None


# ---------------------------------------------------------------------------------------
# Solutions of equation systems

_SOLUTION_SPLIT = re.compile(
    # "," not starting a thousands group; ";", "&", line breaks, "and", a sentence's end;
    # and the space before a new "VAR =" so that "A = 1 B = 2" splits too.
    rf"\s*(?:,(?![0-9]{{3}}(?![0-9]))|;|&|\n|\r|\band\b|\.(?=\s))\s*|\s+(?={_VAR}\s*=)",
    re.IGNORECASE,
)
# A bullet or list number before an equation at the start of a line.
_EQUATION_BULLET = re.compile(r"^(?:[-•+]|[0-9]{1,2}[.)]) {1,2}(?=[A-Za-z(\[])", re.MULTILINE)
_WORDS = re.compile(r"[A-Za-z\s:'’.]*")
_TUPLE = re.compile(
    rf"(?P<lead>[A-Za-z\s:'’]*?)\(\s*(?P<vars>{_VAR}(?:\s*,\s*{_VAR}){{1,25}})\s*\)\s*=\s*"
    r"\(\s*(?P<vals>[^()=]{1,500})\s*\)\s*\.?"
)
_TABLE_RULE = re.compile(r":?-{1,200}:?|")
# "A: 2, B: -1": short names with a colon before a value, read as "A = 2" (two at least).
_NAME_COLON = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_]{0,2}) ?: ?(?=[-+]? ?[0-9.(])")


def _canonical_solution(text: str) -> str | None:
    text = _EQUATION_BULLET.sub("", text)
    if "=" not in text and ":" in text:
        named = _NAME_COLON.subn("\\1 = ", text)
        text = named[0] if named[1] >= 2 else text
    if "|" in text:
        tables = _tables_as_equations(text)
        if tables is None:
            return None
        text = tables
    pairs = _tuple_pairs(text) if "(" in text else None
    if pairs is None:
        text = _drop_remarks(text)
        pairs = _tuple_pairs(text) if "(" in text else None
    if pairs is None:
        pairs = _assignment_pairs(text)
    if not pairs:
        return None
    solution: dict[str, Fraction] = {}
    for var, value in pairs:
        name = var.upper()
        if solution.setdefault(name, value) != value:
            return None  # one variable, two values
    return ", ".join(f"{name}={_format_number(solution[name])}" for name in sorted(solution))


def _tables_as_equations(text: str) -> str | None:
    """``text`` with its markdown tables written as ``VAR = value`` lines, or None when a
    table is not a table of values."""
    out: list[str] = []
    table: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        if "|" in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(_TABLE_RULE.fullmatch(c) for c in cells):
                table.append(cells)
            continue
        if table:
            rows = _table_equations(table)
            if rows is None:
                return None
            out.extend(rows)
            table = []
        out.append(line)
    return "\n".join(out)


def _is_name(cell: str) -> bool:
    return _VAR_NAME.fullmatch(cell) is not None


def _is_value(cell: str) -> bool:
    return _parse_single_number(cell) is not None


def _table_equations(rows: list[list[str]]) -> list[str] | None:
    # A row of names over a row of values, maybe with a label column ("Variable", "Value").
    if len(rows) == 2 and len(rows[0]) == len(rows[1]) >= 2:
        names, values = rows
        if not _is_value(values[0]) and not _is_value(names[0]):
            names, values = names[1:], values[1:]
        if all(map(_is_name, names)) and all(map(_is_value, values)):
            return [f"{n} = {v}" for n, v in zip(names, values, strict=True)]
    # One row per variable, under an optional header row of words.
    found = []
    for row in rows:
        if len(row) == 2 and _is_name(row[0]) and _is_value(row[1]):
            found.append(f"{row[0]} = {row[1]}")
        elif any(map(_is_value, row)):
            return None
    return found


def _tuple_pairs(text: str) -> list[tuple[str, Fraction]] | None:
    m = _TUPLE.fullmatch(text)
    if m is None:
        return None
    names = [v.strip() for v in m.group("vars").split(",")]
    raw_values = re.split(r"[,;]", m.group("vals"))
    if len(raw_values) != len(names):
        return None
    pairs = []
    for name, raw in zip(names, raw_values, strict=True):
        value = _parse_single_number(raw)
        if value is None:
            return None
        pairs.append((name, value))
    return pairs


def _assignment_pairs(text: str) -> list[tuple[str, Fraction]] | None:
    pairs = []
    for piece in _SOLUTION_SPLIT.split(text):
        if "=" not in piece:
            if _WORDS.fullmatch(piece) is None:
                return None  # a bare number, an operator: not a clean solution
            continue
        pair = _assignment(piece)
        if pair is None:
            return None
        pairs.append(pair)
    return pairs


def _assignment(piece: str) -> tuple[str, Fraction] | None:
    """``VAR = value`` (brackets of an enclosing group allowed around it), parsed by hand:
    a regular expression for this backtracks badly on runs of spaces."""
    left, _, right = piece.partition("=")
    if "=" in right:
        # A chain "A = 12/4 = 3" takes its last value; "A = B = 1" names two variables.
        middle, _, right = right.rpartition("=")
        if any(_VAR_NAME.fullmatch(part.strip()) for part in middle.split("=")):
            return None
    name = left.strip().lstrip("([").strip()
    if _VAR_NAME.fullmatch(name) is None:
        return None
    value = right.strip().rstrip(".").rstrip()
    excess = value.count(")") + value.count("]") - value.count("(") - value.count("[")
    while excess > 0 and value and value[-1] in ")]":
        value = value[:-1].rstrip()
        excess -= 1
    value = value.rstrip(".").rstrip()
    if len(value) >= 2 and value[0] == "(" and value[-1] == ")":
        value = value[1:-1]
    number = _parse_single_number(value)
    return None if number is None else (name, number)


# ---------------------------------------------------------------------------------------
# Public API


def extract_answer(
    raw: str,
    answer_type: AnswerType,
    *,
    lenient: bool = False,
    options: Sequence[str] = (),
    variables: Sequence[str] = (),
) -> Extraction:
    """The canonical final answer in a model's reply and the rule that found it.

    Tries, in order, the last answer line (``answer_line``), the last ``\\boxed{}``
    (``boxed``), a reply that is nothing but an answer (``whole_reply``) and, only when
    ``lenient``, the last "the answer is X" (``lenient``) and the last sentence
    (``final_sentence``); see the module docstring. ``options`` are a multiple-choice
    item's option texts: an answer may name one by its text or value, and a letter that
    quotes another option's text is ambiguous (``Extraction(None, None, ambiguous=True)``).
    ``variables`` are a solution's unknowns in order (``solution_variables``): a reply
    that is nothing but a list of as many values (``34, 29``) gives them in that order.
    ``Extraction(None, None)`` when none of them gives an answer.
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(
            f"unknown answer type {answer_type!r}; expected choice, number or solution"
        )
    opts: Options = tuple(options) if answer_type == "choice" else ()
    raw = _after_reasoning(raw)
    later = 0
    low = _lowered(raw)
    start = _last_marker_end(raw, low)
    if start is not None:
        parts, later = _answer_block(raw, start, answer_type)
        if parts is not None:
            answer = _canonical_block(parts, answer_type, opts)
            if answer is not None:
                return _found(answer, "answer_line")
            if lenient and len(parts) == 1:
                answer = _number_word(parts[0], answer_type)  # "ANSWER: seven"
                if answer is not None:
                    return _found(answer, "lenient")
    answer = _boxed_answer(raw, later, answer_type, opts)
    if answer is not None:
        return _found(answer, "boxed")
    answer = _whole_reply_answer(raw, answer_type, lenient, opts, variables)
    if answer is not None:
        return _found(answer, "whole_reply")
    if lenient:
        answer = _phrase_answer(raw, low, later, answer_type, opts)
        if answer is not None:
            return _found(answer, "lenient")
        answer = _final_sentence_answer(raw, later, answer_type, opts)
        if answer is not None:
            return _found(answer, "final_sentence")
    return _NONE


def _found(answer: str, rule: Rule) -> Extraction:
    return _AMBIGUOUS_READING if answer == _AMBIGUOUS else Extraction(answer, rule)


def solution_variables(expected: str) -> tuple[str, ...]:
    """The unknowns of a solution item, in order, from its canonical expected answer
    (``"A=1, B=-2"`` -> ``("A", "B")``): what the question asks for, not its values."""
    return tuple(pair.partition("=")[0].strip() for pair in expected.split(",") if "=" in pair)


def extract_final_answer(
    raw: str, answer_type: AnswerType, *, lenient: bool = False, options: Sequence[str] = ()
) -> str | None:
    """The canonical final answer in a model's reply, or ``None`` when there is none
    (``extract_answer`` without the rule)."""
    return extract_answer(raw, answer_type, lenient=lenient, options=options).answer


def canonicalize(value: str, answer_type: AnswerType) -> str | None:
    """The canonical form of an answer as written, or None when it is not a clean answer.

    ``canonicalize("(b)", "choice") == "B"``, ``canonicalize("$2.50", "number") == "5/2"``,
    ``canonicalize("B = -2 and A = 1", "solution") == "A=1, B=-2"``. Idempotent on its own
    output. See the module docstring for the exact rules.
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(
            f"unknown answer type {answer_type!r}; expected choice, number or solution"
        )
    found = _canonical(value, answer_type, ())
    return None if found == _AMBIGUOUS else found


def _canonical(value: str, answer_type: AnswerType, options: Options) -> str | None:
    """``canonicalize`` with a choice item's options; ``_AMBIGUOUS`` for a letter that
    quotes another option."""
    whole = value
    value = _set_aside_explanation(value, answer_type)
    text = _clean(value)
    if text is None:
        return None
    # A remark after a value ("3/4 (cannot be simplified)") is no refusal of the value.
    if answer_type != "choice" and _REFUSAL.search(_drop_remarks(text)) is not None:
        return None  # the letter of a choice decides; its option's text may say "cannot"
    if answer_type == "solution":
        return _canonical_solution(text)
    found = _canonical_choice(text) if answer_type == "choice" else _canonical_number(text)
    if found is None and "**" in value and _HEDGE_WORD.search(text) is None:
        found = _emphasised(value, answer_type)
    if options:
        body = _clean(whole) or text
        lead = _CHOICE_LEAD.match(body.replace("*", ""))
        body = body.replace("*", "")[lead.end() :] if lead else body.replace("*", "")
        if found is None:
            return _named_option(body, options)
        return _checked_letter(found, body, options)
    return found


def format_answer(canonical: str, answer_type: AnswerType) -> str:
    """How a model would write an answer: ``"B"``, ``"-3/2"``, ``"A = 1, B = -2"``.

    Accepts any string ``canonicalize`` accepts; raises ``ValueError`` for one it rejects.
    ``canonicalize(format_answer(c, t), t) == c`` for every canonical ``c``.
    """
    value = canonicalize(canonical, answer_type)
    if value is None:
        raise ValueError(f"not a valid {answer_type} answer: {canonical!r}")
    if answer_type == "solution":
        return ", ".join(pair.replace("=", " = ") for pair in value.split(", "))
    return value

"""Final-answer extraction and canonicalisation. Pure: no I/O, no model knowledge.

Models are asked to finish with one line ``ANSWER: <answer>`` (``FINAL_ANSWER_PREFIX``).
``extract_final_answer`` finds that line and ``canonicalize`` turns what it says into a
canonical string, so that two answers are the same answer exactly when their canonical
strings are equal. ``None`` means "no answer": the output could not be parsed. The metrics
count ``None`` as wrong and as different from every other answer, ``None`` included.

Canonical forms
    choice    one option letter ``"A"``..``"J"``
    number    an integer ``"42"``/``"-7"`` or a reduced fraction ``"-3/2"``, always built
              with ``fractions.Fraction`` (never a float), so ``"2.50" == "2.5" == "5/2"``
    solution  ``"A=1, B=-2"``: assignments sorted by variable, values as for number

Decisions (the paper leaves these open; they are part of the benchmark's definition)
    Finding the answer line
        * The *last* occurrence of the marker wins (the model's final word), even when an
          earlier one parses and the last does not. The marker is the word ``answer``
          (case-insensitive, not inside a longer word) followed by a colon, with markdown
          tolerated around it: ``ANSWER: B``, ``**Answer:** B``, ``Final answer: B``,
          ``### Answer: B``. It may stand anywhere in a line.
        * The answer is the rest of that line; if the rest is empty (``ANSWER:`` then a
          line break), the next non-blank line.
        * Only when no marker occurs at all, the last ``\\boxed{...}`` is used.
        * ``The answer is B`` without a colon is not a marker: a badly formatted answer
          counts as wrong, as in the paper.
    Length limits: an answer (a line, or a value passed to ``canonicalize``) longer than
        ``MAX_ANSWER_CHARS`` characters is no answer, and so is a number with more than
        ``MAX_DIGITS`` digits in its numerator or denominator. Every regular expression
        here is linear or works on at most ``MAX_ANSWER_CHARS`` characters, so hostile
        output parses in milliseconds.
    Text clean-up for every type: Unicode NFKC (full-width letters and digits, no-break
        and thin spaces, the fraction slash), minus signs and en dashes as ``-``, light
        LaTeX (``\\boxed``, ``\\text``, ``\\frac{a}{b}``, ``$``, ``\\(``) and markdown
        (``**``, backticks, ``*`` that is not between two operands) are removed.
    choice: leading words such as ``the answer is``, ``option``, ``choice`` are skipped;
        the letter may be bracketed (``(B)``, ``[B]``, ``b)``) and followed by a
        delimiter and the option's text (``B. Paris``, ``B) Paris``, ``B - Paris``,
        ``B (Paris)``). A letter followed by a plain word (``I think ...``, ``a city``) is
        not an option letter. Two letters joined by ``or``, ``and``, ``,``, ``/``, ``&``
        (``A or B``) are ambiguous: no answer. Letters outside A-J: no answer.
    number: ``.`` is the decimal point; ``,`` (and a single space) separate thousands
        only in groups of three digits (``1,234``, ``1 234``), otherwise ``,`` separates
        numbers. Signs must touch the digits (``-3``, ``−3``; ``5-3`` is two numbers).
        Fractions ``3/4``, ``-3/4``, mixed numbers ``1 1/2`` (= 3/2), exponents ``1.5e3``.
        Units, currency and ``%`` are ignored (``$12.50`` -> 25/2, ``45%`` -> 45).
        When the text holds ``=`` (or ``≈``), only what follows the last one counts
        (``x = 12`` -> 12, ``12 + 3 = 15`` -> 15). The rest must hold exactly one distinct
        value; several different numbers (``12 or 13``, ``3 hours 20 minutes``) are
        ambiguous: no answer. Number words (``twelve``) are not read.
    solution: assignments ``VAR = value`` separated by ``,`` ``;`` ``and`` ``&``, line
        breaks or plain spaces, in any order; also the tuple form ``(A, B) = (1, -2)``.
        Variable names (a letter, then up to 7 letters, digits or ``_``) are folded to
        upper case. Pieces between assignments may be plain words (``The solution is``)
        or a parenthesised remark after a value; anything else (``2A + B = 7``, a bare
        number, an ``=`` that is not an assignment) makes the answer unparseable. A
        variable given two different values: no answer.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from rest_checks.items.base import OPTION_LETTERS, AnswerType
from rest_checks.prompts import FINAL_ANSWER_PREFIX

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_DIGITS",
    "canonicalize",
    "extract_final_answer",
    "format_answer",
    "same_answer",
]

MAX_ANSWER_CHARS = 1000
MAX_DIGITS = 50

# ---------------------------------------------------------------------------------------
# Finding the answer line

_MARKER_WORD = FINAL_ANSWER_PREFIX.rstrip(":：").strip()
_MARKER = re.compile(
    r"(?<![A-Za-z])"
    + re.escape(_MARKER_WORD)
    # "**Answer**:" puts markdown before the colon, "**Answer:**" after it.
    + r"[ \t]{0,3}(?:\*{1,2}|_{1,2})?[ \t]{0,3}[:：]",
    re.IGNORECASE,
)
_LINE_BREAK = re.compile(r"[\r\n]")
# The first character that says something: not whitespace, not markdown.
_ANSWER_CONTENT = re.compile(r"[^\s*_`#>]")
_BOXED = "\\boxed"


def extract_final_answer(raw: str, answer_type: AnswerType) -> str | None:
    """The canonical final answer in a model's output, or ``None`` when there is none.

    Uses the last ``ANSWER:`` marker (see the module docstring for what counts as one),
    falling back to the last ``\\boxed{...}`` only when no marker occurs at all.
    """
    last = None
    for match in _MARKER.finditer(raw):
        last = match
    line = _answer_after(raw, last.end()) if last is not None else _last_boxed(raw)
    if line is None:
        return None
    return canonicalize(line, answer_type)


def _answer_after(raw: str, start: int) -> str | None:
    """The rest of the line from ``start``, or the next non-blank line if that is empty."""
    found = _ANSWER_CONTENT.search(raw, start)
    if found is None:
        return None
    # The line holding the first character of the answer (maybe the marker's own line).
    line_start = max(raw.rfind("\n", start, found.start()), raw.rfind("\r", start, found.start()))
    line_start = start if line_start < 0 else line_start + 1
    brk = _LINE_BREAK.search(raw, found.start())
    line_end = brk.start() if brk else len(raw)
    if line_end - line_start > MAX_ANSWER_CHARS:
        return None
    return raw[line_start:line_end]


def _last_boxed(raw: str) -> str | None:
    """The contents of the last ``\\boxed{...}``, braces balanced; None if there is none."""
    at = raw.rfind(_BOXED)
    if at < 0:
        return None
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
                return raw[pos + 1 : i]
    return None


# ---------------------------------------------------------------------------------------
# Clean-up shared by all answer types

_MINUS_SIGNS = dict.fromkeys(map(ord, "\u2212\u2010\u2011\u2012\u2013\ufe63"), "-")
_SLASHES = dict.fromkeys(map(ord, "\u2044\u2215"), "/")
_LATEX_WRAPPER = re.compile(
    r"\\(?:boxed|text|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname)\s*\{([^{}]{0,1000})\}"
)
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]{1,200})\}\s*\{([^{}]{1,200})\}")
_SIMPLE_NUMBER = re.compile(r"\s*[-+]?\s*[0-9]+(?:\.[0-9]+)?\s*")
_LATEX_DROP = re.compile(r"\\(?:left|right|displaystyle|[,;:!\s()\[\]])|\{,\}")
_LATEX_SYMBOL = re.compile(r"\\([$%&])")
# Emphasis asterisks: any run not standing between two operands (keeps "2*3").
_EMPHASIS = re.compile(r"(?<![\w)])\*+|\*+(?![\w(])|(?<!\w)__|__(?!\w)|`+")


def _frac(match: re.Match[str]) -> str:
    num, den = match.group(1), match.group(2)
    if _SIMPLE_NUMBER.fullmatch(num) and _SIMPLE_NUMBER.fullmatch(den):
        return f"{num.strip()}/{den.strip()}"
    return f"({num})/({den})"


def _clean(value: str) -> str | None:
    """Normalised text, or None when it is too long to be an answer."""
    if len(value) > MAX_ANSWER_CHARS:
        return None
    text = unicodedata.normalize("NFKC", value).translate(_MINUS_SIGNS).translate(_SLASHES)
    text = _LATEX_SYMBOL.sub(r"\1", text)
    # Innermost groups first; a few rounds cover any nesting an answer plausibly has.
    for _ in range(5):
        new = _LATEX_WRAPPER.sub(r"\1", _LATEX_FRAC.sub(_frac, text))
        if new == text:
            break
        text = new
    text = _LATEX_DROP.sub("", text)
    text = text.replace("$", "").replace("{", "").replace("}", "")
    text = _EMPHASIS.sub("", text)
    return text.strip()


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


def _canonical_number(text: str) -> str | None:
    text = text.translate(_CURRENCY)
    parts = _EQUALS.split(text)
    segment = parts[-1]
    values: set[Fraction] = set()
    for m in _NUMBER_IN_TEXT.finditer(segment):
        value = _number_value(m)
        if value is None:
            return None
        values.add(value)
    if len(values) != 1:
        return None
    return _format_number(values.pop())


def _parse_single_number(text: str) -> Fraction | None:
    m = _NUMBER_ALONE.fullmatch(text)
    if m is None:
        return None
    return _number_value(m)


# ---------------------------------------------------------------------------------------
# Choices

_LETTERS = OPTION_LETTERS + OPTION_LETTERS.lower()
_CHOICE_LEAD = re.compile(
    r"(?:(?:the|my|final|correct|right|best|answer|option|choice|letter|is|would\s+be|"
    r"will\s+be)\b[\s:.-]*)+",
    re.IGNORECASE,
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
# After the letter: a delimiter and then anything (the option's text), or "is ...".
_CHOICE_TAIL = re.compile(r"\s*(?:[.:;,)\]\-–—(!]|is\b)")


def _canonical_choice(text: str) -> str | None:
    text = text.replace("*", "").replace("_", "").strip(" \t\"'")
    lead = _CHOICE_LEAD.match(text)
    if lead is not None:
        text = text[lead.end() :]
    m = _CHOICE.match(text)
    if m is None:
        return None
    rest = m.group("rest")
    if _CHOICE_AMBIGUOUS.match(rest):
        return None
    bracketed = m.group("open") is not None or m.group("close") is not None
    if rest.strip() and not bracketed and _CHOICE_TAIL.match(rest) is None:
        return None  # "I think ...", "a city": a word, not an option letter
    if m.group("open") is not None and m.group("close") is None:
        return None  # "(B" alone is not a bracketed letter
    return m.group("letter").upper()


# ---------------------------------------------------------------------------------------
# Solutions of equation systems

_VAR = r"[A-Za-z][A-Za-z0-9_]{0,7}"
_SOLUTION_SPLIT = re.compile(
    # "," not starting a thousands group; ";", "&", line breaks, "and"; and the space
    # before a new "VAR =" so that "A = 1 B = 2" splits too.
    rf"\s*(?:,(?![0-9]{{3}}(?![0-9]))|;|&|\n|\r|\band\b)\s*|\s+(?={_VAR}\s*=)",
    re.IGNORECASE,
)
_ASSIGNMENT = re.compile(
    rf"[(\[]*\s*(?P<var>{_VAR})\s*=\s*(?P<open>\()?(?P<val>[^()=]{{1,200}}?)(?(open)\))"
    r"\s*(?:\([^()=]{0,200}\))?\s*[)\]]*\s*\.?"
)
_WORDS = re.compile(r"[A-Za-z\s:'’.]*")
_TUPLE = re.compile(
    rf"(?P<lead>[A-Za-z\s:'’]*?)\(\s*(?P<vars>{_VAR}(?:\s*,\s*{_VAR}){{1,25}})\s*\)\s*=\s*"
    r"\(\s*(?P<vals>[^()=]{1,500})\s*\)\s*\.?"
)


def _canonical_solution(text: str) -> str | None:
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
        m = _ASSIGNMENT.fullmatch(piece)
        if m is None:
            return None
        value = _parse_single_number(m.group("val"))
        if value is None:
            return None
        pairs.append((m.group("var"), value))
    return pairs


# ---------------------------------------------------------------------------------------
# Public API


def canonicalize(value: str, answer_type: AnswerType) -> str | None:
    """The canonical form of an answer as written, or None when it is not a clean answer.

    ``canonicalize("(b)", "choice") == "B"``, ``canonicalize("$2.50", "number") == "5/2"``,
    ``canonicalize("B = -2 and A = 1", "solution") == "A=1, B=-2"``. Idempotent on its own
    output. See the module docstring for the exact rules.
    """
    text = _clean(value)
    if text is None:
        return None
    if answer_type == "choice":
        return _canonical_choice(text)
    if answer_type == "number":
        return _canonical_number(text)
    if answer_type == "solution":
        return _canonical_solution(text)
    raise ValueError(f"unknown answer type {answer_type!r}; expected choice, number or solution")


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


def same_answer(a: str | None, b: str | None) -> bool:
    """Whether two canonical answers are the same answer; no answer (None) matches nothing."""
    return a is not None and b is not None and a == b

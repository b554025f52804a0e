"""The paper's filters for published items: no LaTeX, at most 800 characters.

Items whose ``full_text()`` holds LaTeX or is longer than ``MAX_CHARS`` are dropped (LaTeX
is checked first) and counted by reason.
"""

from __future__ import annotations

import re

from rest_checks.items.base import Item

MAX_CHARS = 800

# Commands and delimiters that mark LaTeX maths. A bare dollar sign is money ("$5 and
# $10"), so ``$...$`` counts only when it reads like maths (see _looks_like_inline_math).
_TEX_COMMAND = re.compile(
    r"\\(?:frac|dfrac|tfrac|sqrt|begin|end|left|right|times|cdot|cdots|ldots|dots|div|pm|mp"
    r"|le|ge|leq|geq|neq|ne|approx|equiv|sim|infty|sum|prod|int|lim|log|ln|sin|cos|tan"
    r"|alpha|beta|gamma|delta|epsilon|varepsilon|theta|lambda|mu|nu|pi|rho|sigma|tau|phi"
    r"|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Pi|Sigma|Phi|Psi|Omega|mathbf|mathrm"
    r"|mathbb|mathcal|text|textbf|textit|operatorname|overline|underline|hat|bar|vec|dot"
    r"|binom|choose|rightarrow|leftarrow|Rightarrow|Leftarrow|leftrightarrow|to|in|notin"
    r"|subset|subseteq|cup|cap|forall|exists|neg|wedge|vee|oplus|otimes|partial|nabla"
    r"|quad|qquad|displaystyle|mid|circ|angle|perp|parallel|triangle)(?![A-Za-z])"
)
_TEX_DELIMITER = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")
_INLINE_MATH = re.compile(r"\$(?=\S)([^$\n]{1,200}?)(?<=\S)\$")


def _looks_like_inline_math(body: str) -> bool:
    if re.search(r"[\\^_{}]", body):
        return True
    # "$x$", "$x + 1$", "$f(x)$": starts with a letter or bracket, unlike an amount "$5 ...".
    return not re.match(r"[\d.,]", body)


def has_latex(text: str) -> bool:
    """Whether ``text`` holds LaTeX maths: ``$...$``, ``\\(``, ``\\[``, ``\\frac``..."""
    if _TEX_DELIMITER.search(text) or _TEX_COMMAND.search(text):
        return True
    return any(_looks_like_inline_math(m.group(1)) for m in _INLINE_MATH.finditer(text))


def drop_reason(item: Item) -> str | None:
    """Why the paper's filter drops ``item`` (``"latex"`` or ``"too_long"``), or ``None``."""
    text = item.full_text()
    if has_latex(text):
        return "latex"
    if len(text) > MAX_CHARS:
        return "too_long"
    return None

"""Every dash and minus sign that a model or OCR writes where ASCII has ``-``: one table
for the whole package, so that the reply reader, the exact reader, the equation parser and
the item loaders agree on what a minus is. Imports nothing."""

from __future__ import annotations

__all__ = ["DASHES", "EM_DASHES", "HYPHEN_FOR_DASH"]

#: The characters read as ``-``: hyphen, non-breaking hyphen, figure dash, en dash, em
#: dash, horizontal bar, minus sign, two- and three-em dashes, small em dash, small and
#: full-width hyphen-minus.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
#: The long dashes, which in prose set a remark apart ("72 — 180 km over 2.5 h"); touching
#: a digit they are still a minus ("—3").
EM_DASHES = "\u2013\u2014\u2015\u2e3a\u2e3b\ufe58"
#: ``str.translate`` table that writes every dash as ``-``.
HYPHEN_FOR_DASH = str.maketrans(dict.fromkeys(DASHES, "-"))

"""Item files, under the name the loader has always had (``load_mcq_file``).

The layouts, their detection, normalisation and the paper's filters live in
``rest_checks.items.files``; this module keeps the established import path.
"""

from __future__ import annotations

from rest_checks.items.files import (
    MAX_CHARS,
    ItemFileError,
    LoadResult,
    drop_reason,
    has_latex,
    load_item_file,
)

load_mcq_file = load_item_file

__all__ = ["MAX_CHARS", "ItemFileError", "LoadResult", "drop_reason", "has_latex", "load_mcq_file"]
